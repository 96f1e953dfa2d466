"""Catalog audit at a pinned date, `new` and `check` agreeing on lifecycle, capabilities driving runtimes and the
inference app's settings, and `scaffolder models` at 80 columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder import catalog
from scaffolder._new import capability_notes
from scaffolder.catalog import audit
from scaffolder.cli import app
from scaffolder.errors import SpecError
from scaffolder.generate import plan_files
from tests.helpers import make_spec

PINNED = dt.date(2026, 11, 29)


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


# -- audit (the maintainer's monthly check, run here at a pinned date) ------------------------------


def test_audit_at_pinned_date() -> None:
    lines = audit.audit(PINNED)
    by = {section: {line.subject for line in lines if line.section == section} for section in audit.SECTIONS}
    assert {"Mistral-Large-2411 2", "Mistral-Nemo 1", "Meta-Llama-3.1-405B-Instruct 1", "MAI-DS-R1 1",
            "Cohere-command-r-plus-08-2024 1", "grok-3 1", "grok-3-mini 1", "jais-30b-chat 1", "DeepSeek-R1 1",
            "gpt-4.1 2025-04-14", "gpt-4o 2024-11-20", "o4-mini 2025-04-16"} <= by["retired"]
    assert by["retiring"] == {"gpt-5.2 2025-12-11", "gpt-5 2025-08-07", "gpt-5-mini 2025-08-07",
                              "gpt-5-nano 2025-08-07"}
    assert by["no lifecycle"] == set()
    assert not any(line.attention for line in lines if line.section == "replacement")
    assert not any(line.subject == "catalog" for line in lines), "sources read within 60 days"


def test_audit_flags_old_sources_and_missing_lifecycle(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = audit.audit(dt.date(2027, 3, 1))
    assert any(line.subject == "catalog" and line.attention for line in lines)
    retiring = {line.subject for line in lines if line.section == "retiring"}
    assert "gpt-5.4 2026-03-05" in retiring and "gpt-5.4-mini 2026-03-17" in retiring
    bare = catalog.models()["Phi-4"].model_copy(update={"lifecycle": {}})
    monkeypatch.setitem(catalog.models(), "Phi-4", bare)
    assert [line.text for line in audit.audit(PINNED) if line.subject == "Phi-4" and line.section == "no lifecycle"]


def test_audit_command(capsys: pytest.CaptureFixture[str]) -> None:
    code = audit.main(["--audit", "--date", "2026-11-29"])
    out = capsys.readouterr().out
    assert out.startswith("model catalog audit on 2026-11-29")
    assert ("! gpt-5.2 2025-12-11: gpt-5.2 2025-12-11 retires on 2026-12-12; suggested replacement (not from "
            "the source): gpt-5.4 (in 13 days)") in out
    assert code == 1, "items retiring within 90 days need a maintainer"
    assert audit.main(["--audit", "--date", "2026-06-01"]) == 1  # gpt-4.1 etc. retiring then


# -- new and check agree -------------------------------------------------------------------------


def test_new_library_refuses_retired_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffolder._new import new

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795910400")
    with pytest.raises(SpecError) as err:
        new(make_spec("inference", models=["grok-3"]), tmp_path / "g")
    assert err.value.exit_code == 2
    assert str(err.value.message) == "grok-3 1 retired on 2026-05-01; replacement: grok-4"
    assert not (tmp_path / "g").exists()


# -- capabilities -------------------------------------------------------------------------------


def test_runtime_rule_reads_the_catalog_not_the_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SpecError) as err:
        make_spec("responses", models=["Llama-3.3-70B-Instruct"])
    assert err.value.message.startswith(
        "Llama-3.3-70B-Instruct is not served by the Responses API (Azure OpenAI v1) (the catalog lists it for "
        "inference only); use --runtime inference, or pick one of: ")
    # The same publisher, another model: the rule is per model. Mark DeepSeek-V3.2 as served by responses.
    served = catalog.models()["DeepSeek-V3.2"].model_copy(
        update={"runtimes": (catalog.Runtime.RESPONSES, catalog.Runtime.INFERENCE)})
    monkeypatch.setitem(catalog.models(), "DeepSeek-V3.2", served)
    assert make_spec("responses", models=["DeepSeek-V3.2"]).primary.model == "DeepSeek-V3.2"
    with pytest.raises(SpecError):
        make_spec("responses", models=["Llama-3.3-70B-Instruct"])
    # Outside the catalog the publisher still decides.
    assert make_spec("inference", models=["Mixtral-9x@1,format=Mistral AI"]).primary.format == "Mistral AI"


def _setting(spec_models: list[str], name: str) -> str:
    plan = plan_files(make_spec("inference", models=spec_models))
    text = next(f for f in plan.files if str(f.path) == ".env.example").content.decode()
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"# {name}=")]
    return line.split("=", 1)[1]


@pytest.mark.parametrize("model,budget,tools", [
    # Half (the safety margin) of the window minus the longest answer: never the model's real input cap.
    ("gpt-5.4-mini", "136000", "true"),        # 400,000 window, 128,000 output (input cap 272,000)
    ("gpt-5.4", "461000", "true"),             # 1,050,000 window, input cap 922,000
    ("Mistral-small-2503", "14336", "true"),   # 32,768 window, 4,096 output
    ("Llama-3.3-70B-Instruct", "59904", "false"),
    ("Phi-4", "4096", "false"),                # 16,384 window: at most half kept for the answer
    ("Mistral-Large-3", "8000", "true"),       # window not published: the conservative default
])
def test_inference_settings_follow_the_primary_model(model: str, budget: str, tools: str) -> None:
    assert _setting([model], "APP_CONTEXT_TOKENS") == budget
    assert _setting([model], "APP_MODEL_TOOLS") == tools


def test_new_explains_a_model_without_tool_calling() -> None:
    (note,) = capability_notes(make_spec("inference", models=["Llama-3.3-70B-Instruct"]))
    assert note.startswith("Llama-3.3-70B-Instruct cannot call tools (catalog): the app sends none")
    assert "Mistral-small-2503" in note and "Phi-4," not in note
    assert capability_notes(make_spec("inference", models=["Mistral-small-2503"])) == []


# -- scaffolder models at 80 columns ------------------------------------------------------------


def test_models_table_fits_80_columns_and_keeps_every_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795910400")
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == ["model", "status", "retires", "tools", "context", "runtimes"]
    names = [line.split()[0] for line in lines[1:]]
    assert sorted(names) == sorted(catalog.models())
    row = {line.split()[0]: line.split() for line in lines[1:]}
    assert row["Mistral-Large-2411"][1:3] == ["retired", "2026-01-30"]
    assert row["Llama-3.3-70B-Instruct"][3:] == ["no", "128k", "inference"]
    wide = CliRunner().invoke(app, ["models", "--wide"])
    head = wide.stdout.splitlines()[0].split()
    assert head[:4] == ["model", "format", "kind", "version"] and "replacement" in head and "SKUs" in head
    assert "Mistral-medium-2505" in {line.split()[0] for line in wide.stdout.splitlines()}
