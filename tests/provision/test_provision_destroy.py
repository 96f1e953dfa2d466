"""Destroy: reverse dependency order, the emptied resource group, and purge of the soft-deleted account."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.emulator import ArmEmulator
from tests.provision.provkit import RG, destroy, provision


def test_destroy_and_purge_free_the_name(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    preview = destroy(repo, preview=True, **kw)
    assert not preview.applied and arm.of_type("Microsoft.CognitiveServices/accounts")
    assert any(label.startswith("accounts/") for label in preview.deleted)
    result = destroy(repo, purge=True, **kw)
    assert result.applied and result.purged and result.resource_group_deleted
    assert not arm.resources and not arm.deleted_accounts
    deletes = [p.lower() for m, p, _ in arm.responses if m == "DELETE"]
    children = [i for i, p in enumerate(deletes) if re.search(r"/accounts/[^/]+/(deployments|projects)/[^/]+$", p)]
    roles = [i for i, p in enumerate(deletes) if "/roleassignments/" in p]
    account = next(
        i for i, p in enumerate(deletes) if re.search(r"/providers/microsoft\.cognitiveservices/accounts/[^/]+$", p)
    )
    assert len(children) == 3 and max(children + roles) < account
    # A fresh provision works straight away: the purged name is free again.
    assert provision(repo, **kw).applied


def test_destroy_without_purge_leaves_the_name_soft_deleted(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    result = provision(repo, **kw)
    destroy(repo, **kw)
    assert result.outputs["AZURE_AI_ACCOUNT_NAME"].lower() in arm.deleted_accounts


def test_destroy_keeps_a_group_that_holds_other_resources(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    kind = "Microsoft.ManagedIdentity/userAssignedIdentities"
    other = f"/subscriptions/{arm.subscription_id}/resourceGroups/{RG}/providers/{kind}/keep-me"
    arm.resources[other.lower()] = {
        "id": other,
        "name": "keep-me",
        "type": kind,
        "location": "eastus2",
        "properties": {},
    }
    result = destroy(repo, **kw)
    assert not result.resource_group_deleted
    assert set(arm.resources) == {other.lower(), f"/subscriptions/{arm.subscription_id}/resourcegroups/{RG}".lower()}


def test_destroy_on_nothing_is_a_no_op(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    result = destroy(repo, **kw)
    assert result.deleted == [] and arm.writes() == 0
