"""Preflight: each check fails with the problem and the fix, and never writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from scaffolder.errors import PreflightError
from scaffolder.provisioning.plan import Target, plan_from_bicep
from scaffolder.spec import ProjectSpec
from tests.emulator import ArmEmulator, Offer
from tests.helpers import make_spec
from tests.provision.provkit import ENV, RG, preflight, provision, write_repo

TODAY = dt.date(2026, 11, 25)


def _check(result: Any, name: str) -> list[Any]:
    return [c for c in result.checks if c.name == name]


def _account_name(arm: ArmEmulator, spec: ProjectSpec, repo: Path) -> str:
    return str(plan_from_bicep(repo, Target(arm.subscription_id, RG, "eastus2", ENV)).get("account.account").name)


def test_all_checks_pass_on_a_fresh_subscription(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    result = preflight(repo, today=TODAY, **kw)
    assert result.ok, result.as_dict()
    assert {c.name for c in result.checks} == {"region", "model", "quota", "soft-delete", "permissions"}
    assert _check(result, "permissions")[0].status == "skip"  # no resource group yet
    assert arm.writes() == 0


def test_region_without_the_runtime(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    result = preflight(repo, location="westeurope", today=TODAY, **kw)
    region = _check(result, "region")[0]
    assert region.status == "fail" and "westeurope" in region.message and "eastus2" in region.fix
    with pytest.raises(PreflightError) as err:
        provision(repo, location="westeurope", today=TODAY, **kw)
    assert arm.writes() == 0
    assert err.value.exit_code == 7


def test_model_version_or_sku_not_offered(arm: ArmEmulator, tmp_path: Path, kw: dict[str, Any]) -> None:
    spec = make_spec("responses", hosting="none", models=["gpt-5.4-mini", "gpt-5.4"])
    arm.offer("eastus2", Offer("gpt-5.4-mini", "2020-01-01", "OpenAI", ("GlobalStandard",)))
    arm.offer("eastus2", Offer("gpt-5.4", spec.models[1].version, "OpenAI", ("Standard",)))
    repo = write_repo(tmp_path / "r", spec)
    models = _check(preflight(repo, today=TODAY, **kw), "model")
    assert [c.status for c in models] == ["fail", "fail"]
    assert "not offered" in models[0].message and "2020-01-01" in models[0].fix
    assert "SKU GlobalStandard" in models[1].message and "Standard" in models[1].fix


def test_retiring_and_retired_versions_are_flagged_with_dates(
    arm: ArmEmulator, tmp_path: Path, kw: dict[str, Any]
) -> None:
    spec = make_spec("responses", hosting="none", models=["gpt-5.4-mini", "gpt-5.4"])
    a, b = spec.models
    arm.offer("eastus2", Offer(a.model, a.version, "OpenAI", (a.sku,), "Deprecating", "2027-01-15"))
    arm.offer("eastus2", Offer(b.model, b.version, "OpenAI", (b.sku,), "Deprecated", "2026-10-01"))
    repo = write_repo(tmp_path / "r", spec)
    models = _check(preflight(repo, today=TODAY, **kw), "model")
    assert models[0].status == "warn" and "2027-01-15" in models[0].message
    assert models[1].status == "fail" and "retired on 2026-10-01" in models[1].message


def test_quota_names_the_largest_capacity_that_fits(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    arm.set_quota("eastus2", "OpenAI.GlobalStandard.gpt-5.4", 15)
    quota = {c.message.split(":")[0]: c for c in _check(preflight(repo, today=TODAY, **kw), "quota")}
    bad = quota["OpenAI.GlobalStandard.gpt-5.4"]
    assert bad.status == "fail" and "20 requested but only 15" in bad.message
    assert "at most 15" in bad.fix
    assert quota["OpenAI.GlobalStandard.gpt-5.4-mini"].status == "ok"


def test_quota_counts_capacity_the_deployment_already_holds(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    arm.set_quota("eastus2", "OpenAI.GlobalStandard.gpt-5.4", 20)
    provision(repo, today=TODAY, **kw)
    # 20 of 20 in use by this very deployment: a re-run still fits.
    assert all(c.status == "ok" for c in _check(preflight(repo, today=TODAY, **kw), "quota"))


def test_soft_deleted_account_offers_restore_or_purge(
    arm: ArmEmulator, repo: Path, spec: ProjectSpec, kw: dict[str, Any]
) -> None:
    arm.soft_delete("eastus2", RG, _account_name(arm, spec, repo))
    check = _check(preflight(repo, today=TODAY, **kw), "soft-delete")[0]
    assert check.status == "fail" and "--restore" in check.fix and "--purge" in check.fix
    with pytest.raises(PreflightError, match="soft-deleted"):
        provision(repo, today=TODAY, **kw)
    assert arm.writes() == 0
    assert _check(preflight(repo, restore=True, today=TODAY, **kw), "soft-delete")[0].status == "ok"
    result = provision(repo, purge=True, today=TODAY, **kw)
    assert result.purged and result.applied and not arm.deleted_accounts


def test_restore_without_a_deleted_account_fails(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    check = _check(preflight(repo, restore=True, today=TODAY, **kw), "soft-delete")[0]
    assert check.status == "fail" and "drop --restore" in check.fix


def test_caller_without_role_assignment_rights(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, today=TODAY, **kw)
    # Contributor: everything except Microsoft.Authorization/*/Write.
    arm.permissions = [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}]
    check = _check(preflight(repo, today=TODAY, **kw), "permissions")[0]
    assert check.status == "fail"
    assert "Microsoft.Authorization/roleAssignments/write" in check.message
    assert "Role Based Access Control Administrator" in check.fix
    arm.permissions = [
        {"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]},
        {"actions": ["Microsoft.Authorization/roleAssignments/*"], "notActions": []},
    ]
    assert _check(preflight(repo, today=TODAY, **kw), "permissions")[0].status == "ok"
