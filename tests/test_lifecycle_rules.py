"""The one lifecycle rule and verdict: boundaries, unknown versions, deployed parameters, the pinned clock."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder import catalog
from scaffolder.catalog import audit
from scaffolder.checks import lifecycle_findings
from scaffolder.cli import app
from scaffolder.errors import SpecError
from scaffolder.spec import today
from tests.helpers import make_spec

D = dt.date(2026, 11, 29)


def test_judge_state_boundaries() -> None:
    assert catalog.judge_state(D, False, D) == "retired"
    assert catalog.judge_state(D + dt.timedelta(days=90), False, D) == "retiring"
    assert catalog.judge_state(D + dt.timedelta(days=91), False, D) == "current"
    assert catalog.judge_state(D + dt.timedelta(days=91), True, D) == "deprecated"
    assert catalog.arm_state({"lifecycleStatus": "Legacy"}, D)[0] == "deprecated"
    assert catalog.arm_state({"deprecation": {"inference": "2026-11-29T00:00:00Z"}}, D)[0] == "retired"


def test_unknown_version_is_unknown_not_current() -> None:
    st = catalog.models()["gpt-5.4-mini"].status("1999-01-01", D)
    assert st.state == "unknown" and "version not in the catalog" in st.message


@pytest.mark.parametrize("value", ["99999999999999", "253402300800", "-5", "1795910400.5", "soon"])
def test_bad_source_date_epoch_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(SpecError):
        today()
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: SOURCE_DATE_EPOCH must be whole seconds")
    assert "Traceback" not in result.output


def test_check_judges_the_deployed_parameters(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    assert CliRunner().invoke(app, ["new", "demo", "-r", "inference", "-m", "Mistral-small-2503", "--no-input",
                                    "-l", "eastus2", "-o", str(tmp_path)]).exit_code == 0
    params = target / "infra" / "main.parameters.json"
    doc = json.loads(params.read_text())
    doc["parameters"]["modelDeployments"]["value"][0].update(model="Mistral-Large-2411", version="2")
    params.write_text(json.dumps(doc))
    findings, _ = lifecycle_findings(target, make_spec("inference", models=["Mistral-small-2503"]))
    assert [(f.rule, f.severity, f.file) for f in findings] == [
        ("lifecycle/retired", "error", "infra/main.parameters.json")]


def test_audit_flags_a_retiring_default_model(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("Try `scaffolder new demo -m gpt-5.4 --runtime responses`.\n")
    lines = audit.audit(dt.date(2026, 12, 19), readme)
    flagged = {line.subject: line for line in lines if line.section == "defaults"}
    assert set(flagged) == {"gpt-5.4-mini", "gpt-5.4"} and all(line.attention for line in flagged.values())
    assert "in 89 days" in flagged["gpt-5.4-mini"].text
    assert not [line for line in audit.audit(D, readme) if line.section == "defaults"]


def test_default_model_is_current_on_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Canary on the real date: fails when the shipped default retires (update DEFAULT_MODEL and the catalog)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    from scaffolder.spec import DEFAULT_MODEL

    assert catalog.models()[DEFAULT_MODEL].status("2026-03-17", today()).state != "retired"


def _rendered(models: list[str], path: str) -> str:
    from scaffolder.generate import plan_files

    plan = plan_files(make_spec("inference", models=models))
    return next(f for f in plan.files if str(f.path) == path).content.decode()


def test_a_tools_off_repo_does_not_invite_tools() -> None:
    readme = _rendered(["Llama-3.3-70B-Instruct"], "README.md")
    assert "add yours to `TOOLS`" not in readme and "not sent, as the model cannot call tools" in readme
    assert "Use the tools" not in _rendered(["Llama-3.3-70B-Instruct"], ".env.example")
    assert "add yours to `TOOLS`" in _rendered(["Mistral-small-2503"], "README.md")


def test_refusal_names_every_retired_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new", "demo", "-r", "responses", "-m", "gpt-5.4-mini", "-m", "gpt-4o",
                                      "-m", "o3", "--no-input", "--dry-run", "-o", str(tmp_path)])
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert "gpt-4o 2024-11-20 retired on 2026-10-01" in first and "o3 " in first and "more)" not in first


def test_new_judges_on_today_not_the_decision_date(tmp_path: Path) -> None:
    from scaffolder._new import new
    from scaffolder.spec import build_spec

    base = make_spec("responses").model_dump(mode="json")
    base["models"][0].update(model="gpt-4o", version="2024-11-20")
    base["decision"] = {"answers": {}, "date": "2026-01-01"}  # an old answers file: gpt-4o was current then
    spec = build_spec(base)
    with pytest.raises(SpecError, match="gpt-4o 2024-11-20 retired on 2026-10-01"):
        new(spec, tmp_path / "demo", dry_run=True)


def test_audit_flags_figures_and_deprecations_without_a_source(monkeypatch: pytest.MonkeyPatch) -> None:
    def flagged() -> set[tuple[str, str]]:
        return {(line.section, line.subject) for line in audit.audit(D, None) if line.attention}

    before = flagged()  # the shipped catalog: every figure and deprecation date has a source
    assert ("capabilities", "Phi-4") not in before and ("sources", "gpt-5.1 2025-11-13") not in before
    real = catalog.models()
    phi = real["Phi-4"].model_copy(update={"capabilities": None})
    life = real["gpt-5.1"].lifecycle["2025-11-13"].model_copy(update={"deprecated_source": None})
    gpt51 = real["gpt-5.1"].model_copy(update={"lifecycle": {"2025-11-13": life}})
    monkeypatch.setattr(catalog, "models", lambda: {**real, "Phi-4": phi, "gpt-5.1": gpt51})
    after = flagged()
    assert ("capabilities", "Phi-4") in after and ("sources", "gpt-5.1 2025-11-13") in after
