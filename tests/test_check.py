"""`scaffolder check`: fresh repos pass; each kind of drift, breakage and lifecycle problem is a finding."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder._new import new
from scaffolder.checks import bicep_build, check
from scaffolder.cli import app
from scaffolder.standards import load
from tests.helpers import STORAGE_MODULE_FILE, make_spec

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    new(make_spec("responses"), tmp_path / "demo")
    return tmp_path / "demo"


def rules(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule for f in result.findings}


@pytest.mark.parametrize("runtime", ["responses", "agents", "inference"])
def test_fresh_repo_of_every_runtime_passes(tmp_path: Path, runtime: str) -> None:
    new(make_spec(runtime, models=["gpt-5.4-mini"]), tmp_path / "r")
    result = check(tmp_path / "r", offline_only=True)
    assert result.ok, [str(f) for f in result.findings]
    assert {"drift", "consistency", "lifecycle", "syntax", "semantics", "types"} <= set(result.layers)


def test_hand_edit_to_bicep_is_information_and_a_policy_breach_an_error(repo: Path) -> None:
    account = repo / "infra" / "modules" / "foundry-account.bicep"
    account.write_text(account.read_text().replace("disableLocalAuth: true", "disableLocalAuth: false"))
    result = check(repo, offline_only=True)
    assert {"drift/changed", "policy/local-auth-disabled"} <= rules(result)
    changed = next(f for f in result.findings if f.rule == "drift/changed")
    assert changed.file == "infra/modules/foundry-account.bicep" and changed.line > 0
    assert changed.severity == "info" and changed not in result.errors
    assert changed.expected == "'disableLocalAuth: true'" and changed.found.startswith("'disableLocalAuth: false'")
    assert changed.fix == f"scaffolder check {repo} --accept"  # a user edit: update would keep it, accept records it
    assert [f.rule for f in result.errors] == ["policy/local-auth-disabled"] and not result.ok


def test_parameters_edited_by_hand(repo: Path) -> None:
    params = repo / "infra" / "main.parameters.json"
    doc = json.loads(params.read_text())
    doc["parameters"]["modelDeployments"]["value"][0]["name"] = "renamed"
    params.write_text(json.dumps(doc, indent=2))
    result = check(repo, offline_only=True)
    # The app still calls primaryModelDeployment, which is no longer deployed: that breaks the app.
    assert [f.rule for f in result.errors] == ["consistency/parameters"]
    assert "drift/models" in rules(result)


def test_missing_generated_file_is_information_and_the_broken_reference_an_error(repo: Path) -> None:
    (repo / "infra" / "modules" / "monitoring.bicep").unlink()
    result = check(repo, offline_only=True)
    assert [f.rule for f in result.errors] == ["semantics/module-not-found"]
    assert "drift/missing" in {f.rule for f in result.information}


STORAGE = STORAGE_MODULE_FILE + "\noutput id string = storage.id\n"
STORAGE_MODULE = """
module storage 'storage.bicep' = {
  name: 'storage'
  params: {
    location: location
  }
}
"""


def _customise(repo: Path, *, capacity: int = 50) -> None:
    """What a team does to its repo: another model and more capacity, a storage module wired into main.bicep."""
    params = repo / "infra" / "main.parameters.json"
    doc = json.loads(params.read_text())
    deployment = doc["parameters"]["modelDeployments"]["value"][0]
    deployment.update(model="gpt-5.4", name="gpt-5.4", version="2026-03-05", capacity=capacity)
    doc["parameters"]["primaryModelDeployment"]["value"] = "gpt-5.4"
    params.write_text(json.dumps(doc, indent=2) + "\n")
    (repo / "infra" / "storage.bicep").write_text(STORAGE)
    main = repo / "infra" / "main.bicep"
    main.write_text(main.read_text() + STORAGE_MODULE)


def test_customised_repo_passes_with_information_naming_the_reconciling_command(repo: Path) -> None:
    _customise(repo)
    result = check(repo, offline_only=True)
    assert result.ok, [str(f) for f in result.errors]
    # The storage module added to main.bicep and its file are the user's: not drift.
    assert {f.rule for f in result.findings} == {"drift/models"}
    models = next(f for f in result.findings if f.rule == "drift/models")
    assert models.expected == "gpt-5.4-mini@2026-03-17 GlobalStandard capacity 10"
    assert models.found == "gpt-5.4@2026-03-05 GlobalStandard capacity 50"
    assert models.fix == f"scaffolder update {repo} --model gpt-5.4@2026-03-05,sku=GlobalStandard,capacity=50"
    assert not {"infra/storage.bicep", "infra/main.bicep"} & {f.file for f in result.findings}


def test_user_added_bicep_goes_through_the_same_layers(repo: Path) -> None:
    _customise(repo)
    storage = repo / "infra" / "storage.bicep"
    storage.write_text(STORAGE + (Path(__file__).parent / "fixtures/bicep/local-auth-disabled/bad.bicep").read_text()
                       .replace("param location string = resourceGroup().location\n", ""))
    result = check(repo, offline_only=True)
    assert "policy/local-auth-disabled" in {f.rule for f in result.errors if f.file == "infra/storage.bicep"}
    storage.write_text(STORAGE.replace("output id string = storage.id", "output id string = missing.id"))
    result = check(repo, offline_only=True)
    assert [(f.rule, f.file) for f in result.errors] == [("semantics/undefined-symbol", "infra/storage.bicep")]


def test_the_printed_update_command_names_the_standards_and_reconciles(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fix is a command to paste: run exactly what check printed, then check has nothing left to say about it.
    team = tmp_path / "team.yml"
    team.write_text("name: team\n")
    _customise(repo)
    result = check(repo, standards=load(team), offline_only=True)
    models = next(f for f in result.findings if f.rule == "drift/models")
    assert models.fix == (f"scaffolder update {repo} --model gpt-5.4@2026-03-05,sku=GlobalStandard,capacity=50 "
                          f"--standards {team.resolve()}")
    assert all(f.fix.endswith(f"--standards {team.resolve()}") for f in result.information)
    assert result.information
    monkeypatch.delenv("SCAFFOLDER_STANDARDS", raising=False)
    done = runner.invoke(app, shlex.split(models.fix)[1:])
    assert done.exit_code == 0, done.stderr
    after = check(repo, standards=load(team), offline_only=True)
    assert "drift/models" not in rules(after), [str(f) for f in after.findings]


def test_strict_drift_from_the_flag_or_the_standards(repo: Path, tmp_path: Path) -> None:
    _customise(repo)
    assert check(repo, offline_only=True).ok
    strict = check(repo, offline_only=True, strict=True)
    assert not strict.ok and {f.rule for f in strict.errors} == {"drift/models"}
    rules_file = tmp_path / "standards.yml"
    rules_file.write_text("name: team\ncheck:\n  strict: true\n")
    assert not check(repo, standards=load(rules_file), offline_only=True).ok
    assert runner.invoke(app, ["check", str(repo), "--offline"]).exit_code == 0
    failed = runner.invoke(app, ["check", str(repo), "--offline", "--strict"])
    assert failed.exit_code == 1 and "failed: 1 error(s), 0 information (strict)" in failed.stderr
    assert "errors (strict: differences from the generator fail the check too):" in failed.stdout


def test_env_example_and_settings_consistency(repo: Path) -> None:
    example = repo / ".env.example"
    example.write_text(example.read_text().replace("AZURE_OPENAI_ENDPOINT=", "# AZURE_OPENAI_ENDPOINT="))
    settings = repo / "src" / "demo" / "settings.py"
    settings.write_text(settings.read_text().replace("azure_ai_model_deployment", "model_name"))
    found = rules(check(repo, offline_only=True))
    assert {"consistency/env-example", "consistency/settings"} <= found


JAN_2026 = "1767225600"  # 2026-01-01
NOV_2026 = "1795910400"  # 2026-11-29
JAN_2027 = "1798761600"  # 2027-01-01


def test_retired_model_is_a_lifecycle_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", JAN_2026)  # generated while gpt-4.1-mini was current
    new(make_spec("responses", models=["gpt-4.1-mini"]), tmp_path / "old")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOV_2026)
    result = check(tmp_path / "old", offline_only=True)
    assert rules(result) == {"lifecycle/retired"} and not result.ok
    assert result.findings[0].severity == "error"
    message = result.findings[0].message
    assert "retired on 2026-10-14; suggested replacement (not from the source): gpt-5.4-mini" in message
    assert "model lifecycle from the shipped catalog (sources read 2026-11-29)" in result.notes


def test_retired_partner_model_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")  # 2025-12-01: before Mistral-Large-2411 retired
    new(make_spec("inference", models=["Mistral-Large-2411", "gpt-5.4-mini"]), tmp_path / "m")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOV_2026)
    result = check(tmp_path / "m", offline_only=True)
    assert not result.ok
    (finding,) = [f for f in result.findings if f.rule.startswith("lifecycle/")]
    assert finding.rule == "lifecycle/retired"
    assert finding.message == "Mistral-Large-2411 2 retired on 2026-01-30; replacement: Mistral-medium-2505"


def test_retiring_model_warns_and_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOV_2026)
    new(make_spec("responses", models=["gpt-5.4-mini"]), tmp_path / "r")
    assert check(tmp_path / "r", offline_only=True).ok
    monkeypatch.setenv("SOURCE_DATE_EPOCH", JAN_2027)  # gpt-5.4-mini retires 2027-03-18: within 90 days
    result = check(tmp_path / "r", offline_only=True)
    assert result.ok, [str(f) for f in result.findings]
    (finding,) = result.findings
    assert (finding.rule, finding.severity) == ("lifecycle/retiring", "warning")
    cli = runner.invoke(app, ["check", str(tmp_path / "r"), "--offline"])
    assert cli.exit_code == 0 and "warning [lifecycle/retiring]" in cli.stdout


def test_old_catalog_is_one_note_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOV_2026)
    new(make_spec("responses", models=["gpt-5.4"]), tmp_path / "r")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1801440000")  # 2027-02-01: 64 days after the sources were read
    result = check(tmp_path / "r", offline_only=True)
    stale = [n for n in result.notes if "days ago" in n]
    assert len(stale) == 1 and "checked against its sources on 2026-11-29 (64 days ago)" in stale[0]


def test_standards_drift_after_the_rules_tighten(repo: Path, tmp_path: Path) -> None:
    strict = tmp_path / "standards.yml"
    strict.write_text("name: tight\nregions:\n  allowed: [swedencentral]\nmodels:\n  max_capacity: 5\n")
    result = check(repo, standards=load(strict), offline_only=True)
    assert {"standards/regions.allowed", "standards/models.max_capacity"} <= rules(result)


def test_generated_under_standards_then_standards_change(tmp_path: Path) -> None:
    path = tmp_path / "standards.yml"
    path.write_text("name: team\ntags:\n  owner: platform\n")
    loaded = load(path)
    new(make_spec("agents", standards=loaded), tmp_path / "r", standards=loaded)
    assert check(tmp_path / "r", standards=loaded, offline_only=True).ok
    path.write_text("name: team\ntags:\n  owner: platform\n  cost-center: null\n")
    result = check(tmp_path / "r", standards=load(path), offline_only=True)
    assert rules(result) == {"standards/tags"}
    assert any("changed since generation" in n and f"`scaffolder update {tmp_path / 'r'} --standards {path.resolve()}`"
               in n for n in result.notes)


def test_not_a_generated_repo(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path), "--offline"])
    assert result.exit_code == 2
    assert "not a repo generated by foundry-scaffolder" in result.stderr


def test_cli_json_and_exit_codes(repo: Path) -> None:
    ok = runner.invoke(app, ["check", str(repo), "--offline", "--json"])
    assert ok.exit_code == 0
    doc = json.loads(ok.stdout)
    assert doc["ok"] is True and doc["findings"] == []
    (repo / "azure.yaml").write_text("name: changed\n")
    info = runner.invoke(app, ["check", str(repo), "--offline"])
    assert info.exit_code == 0
    assert "azure.yaml:1: info [drift/changed]" in info.stdout
    doc = json.loads(runner.invoke(app, ["check", str(repo), "--offline", "--json"]).stdout)
    (finding,) = doc["findings"]
    assert finding["fails"] is False and finding["fix"] == f"scaffolder check {repo} --accept"
    (repo / "infra" / "main.parameters.json").write_text("{")
    bad = runner.invoke(app, ["check", str(repo), "--offline"])
    assert bad.exit_code == 1
    assert "infra/main.parameters.json:1:2: error [params-file/invalid] not valid JSON" in bad.stdout
    assert "consistency/parameters" not in bad.stdout  # one error for one fault


def _fake_bicep(tmp_path: Path, stderr: str, code: int) -> str:
    script = tmp_path / "bicep"
    script.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{stderr}\nEOF\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_bicep_build_diagnostics_become_findings(repo: Path, tmp_path: Path) -> None:
    main = (repo / "infra" / "main.bicep").resolve()
    exe = _fake_bicep(tmp_path, f"{main}(12,3) : Warning BCP081: no types\n{main}(40,5) : Error BCP037: bad prop", 1)
    found = bicep_build(repo, exe)
    assert [(f.rule, f.file, f.line, f.col) for f in found] == [("bicep/BCP037", "infra/main.bicep", 40, 5)]
    assert bicep_build(repo, _fake_bicep(tmp_path, "only warnings", 0)) == []
    crashed = bicep_build(repo, _fake_bicep(tmp_path, "Unhandled exception", 134))
    assert [f.rule for f in crashed] == ["bicep/build"]


def test_bicep_on_path_is_used(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_bicep(bin_dir, f"{repo / 'infra' / 'main.bicep'}(1,1) : Error BCP007: nope", 1)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("SCAFFOLDER_CHECKOV_VENV", raising=False)
    result = check(repo)
    assert "bicep build" in result.layers and "bicep/BCP007" in rules(result)
    assert any("checkov not found" in n for n in result.notes)


def test_explicit_checkov_venv_without_checkov_is_an_error(repo: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(repo), "--checkov-venv", str(tmp_path / "typo")])
    assert result.exit_code == 9
    assert "holds no checkov" in result.stderr


def test_repo_from_another_tool_version_reports_template_changes_as_notes(repo: Path) -> None:
    answers = repo / ".scaffolder.yml"
    from scaffolder import __version__

    assert f"version: {__version__}" in answers.read_text()
    answers.write_text(answers.read_text().replace(f"version: {__version__}", "version: 0.0.9"))
    (repo / "azure.yaml").write_text((repo / "azure.yaml").read_text() + "# a template change since 0.0.9\n")
    result = check(repo, offline_only=True)
    assert result.ok
    assert any("generated by foundry-scaffolder 0.0.9" in n and "azure.yaml" in n for n in result.notes)


def test_offline_says_checkov_was_skipped_because_of_it(repo: Path) -> None:
    result = check(repo, offline_only=True)
    assert any("checkov and `bicep build` skipped because of --offline" in n for n in result.notes)
    assert not any("checkov not found" in n or "no Bicep CLI" in n for n in result.notes)


def test_the_suite_and_the_cli_share_one_checkov_venv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tests.conftest as suite
    from scaffolder.checks import user_checkov_venv

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert suite._user_cache() / "foundry-scaffolder" / "checkov-venv" == user_checkov_venv()
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert 'CHECKOV_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/foundry-scaffolder/checkov-venv"' in ci
    assert ".cache/checkov-venv" not in (Path(__file__).parent / "validate" / "conftest.py").read_text()


def test_expression_names_are_recognised_for_checkov_name_rules() -> None:
    from scaffolder.validate import _expression_name

    source = b"resource s 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: NAME\n}\n"
    assert _expression_name(source.replace(b"NAME", b"'st${uniqueString(resourceGroup().id)}'"), 1) is not None
    assert _expression_name(source.replace(b"NAME", b"storageName"), 1) == "storageName"
    assert _expression_name(source.replace(b"NAME", b"'Bad_Name'"), 1) is None
