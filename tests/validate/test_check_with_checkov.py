"""`scaffolder check` with checkov on fresh repos of every runtime (checkov results come from the warm cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffolder._new import new
from scaffolder.checks import check
from scaffolder.validate import Checkov
from tests.helpers import STORAGE_MODULE_FILE, make_spec


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["responses", "agents", "inference"])
def test_fresh_repo_passes_every_layer(runtime: str, tmp_path: Path, warm_checkov: Checkov) -> None:
    new(make_spec(runtime), tmp_path / "repo")
    result = check(tmp_path / "repo", checkov=warm_checkov)
    assert "checkov" in result.layers
    assert result.ok, [str(f) for f in result.findings]


@pytest.mark.slow
def test_checkov_catches_a_hand_edit(tmp_path: Path, warm_checkov: Checkov) -> None:
    new(make_spec("responses"), tmp_path / "repo")
    account = tmp_path / "repo" / "infra" / "modules" / "foundry-account.bicep"
    account.write_text(account.read_text().replace("disableLocalAuth: true", "disableLocalAuth: false"))
    rules = {f.rule for f in check(tmp_path / "repo", checkov=warm_checkov).findings}
    assert {"checkov/CKV_AZURE_236", "policy/local-auth-disabled", "drift/changed"} <= rules


STORAGE = STORAGE_MODULE_FILE.replace("'st${uniqueString(resourceGroup().id)}'", "NAME")


@pytest.mark.slow
def test_name_rule_on_an_expression_name_is_information_and_progress_is_reported(
    tmp_path: Path, checkov: Checkov
) -> None:
    new(make_spec("responses"), tmp_path / "repo")
    storage = tmp_path / "repo" / "infra" / "storage.bicep"
    seen: list[tuple[str, int, int]] = []
    storage.write_text(STORAGE.replace("NAME", "'st${uniqueString(resourceGroup().id)}'"))
    result = check(tmp_path / "repo", checkov=checkov.venv, progress=lambda *a: seen.append(a))
    named = [f for f in result.findings if f.rule == "checkov/CKV_AZURE_43"]
    assert [f.severity for f in named] == ["info"] and "built from an expression" in named[0].message
    assert seen and seen[-1][1] == seen[-1][2] == len(seen), "one progress call per scanned file"
    storage.write_text(STORAGE.replace("NAME", "'Bad_Name'"))
    result = check(tmp_path / "repo", checkov=checkov.venv)
    assert [f.severity for f in result.findings if f.rule == "checkov/CKV_AZURE_43"] == ["error"]


@pytest.mark.slow
def test_a_resource_added_inside_main_bicep_is_checked_by_checkov_not_called_drift(
    tmp_path: Path, checkov: Checkov
) -> None:
    new(make_spec("responses"), tmp_path / "repo")
    main = tmp_path / "repo" / "infra" / "main.bicep"
    weak = STORAGE.replace("param location string\n", "").replace("NAME", "'Bad_Name'")
    main.write_text(main.read_text() + "\n" + weak.replace("'TLS1_2'", "'TLS1_0'"))
    result = check(tmp_path / "repo", checkov=checkov.venv, strict=True)
    in_main = {f.rule for f in result.errors if f.file == "infra/main.bicep"}
    assert "checkov/CKV_AZURE_44" in in_main, [str(f) for f in result.findings]  # TLS below 1.2
    assert not any(f.rule.startswith("drift/") for f in result.findings)
