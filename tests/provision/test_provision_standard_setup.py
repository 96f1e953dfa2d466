"""`--agent-setup standard` provisioned against the ARM emulator: every store, connection, capability host and
role exists as the Bicep evaluates it, the capability host is written after the roles it needs and before the
data roles, and a re-run writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emulator import ArmEmulator
from helpers import make_spec
from provkit import offer_models, write_repo

from scaffolder import catalog
from tests.provision.provkit import provision

PROJECT_HOST = "Microsoft.CognitiveServices/accounts/projects/capabilityHosts"


@pytest.mark.usefixtures("bicep_types_dir")  # skips for the shared reason when the type data is absent
def test_standard_setup_provisions_in_the_templates_order(
    tmp_path: Path, arm: ArmEmulator, kw: dict[str, Any]
) -> None:
    spec = make_spec("agents", hosting="none", agent_setup="standard")
    offer_models(arm, spec)
    repo = write_repo(tmp_path / "repo", spec)
    provision(repo, **kw)
    assert not arm.validation_errors
    [cosmos] = arm.of_type("Microsoft.DocumentDB/databaseAccounts")
    assert cosmos["properties"]["disableLocalAuth"] is True
    [storage] = arm.of_type("Microsoft.Storage/storageAccounts")
    assert storage["properties"]["allowSharedKeyAccess"] is False
    [search] = arm.of_type("Microsoft.Search/searchServices")
    assert search["properties"]["disableLocalAuth"] is True
    [host] = arm.of_type(PROJECT_HOST)
    assert host["properties"]["threadStorageConnections"] == ["agent-threads"]
    assert len(arm.of_type("Microsoft.CognitiveServices/accounts/capabilityHosts")) == 1
    [sql] = arm.of_type("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    assert sql["properties"]["scope"].endswith("/dbs/enterprise_memory")

    # write order: the project identity's roles, then the capability hosts, then the data roles
    roles = catalog.roles()
    puts = [r for r in arm.requests if r.method == "PUT"]

    def at(predicate: Any) -> list[int]:
        return [i for i, r in enumerate(puts) if predicate(r)]

    def role_puts(role: str) -> list[int]:
        return at(lambda r: "roleAssignments" in r.path and isinstance(r.body, dict)
                  and str(r.body.get("properties", {}).get("roleDefinitionId", "")).endswith(roles[role].id))

    def host(r: Any, project: bool) -> bool:
        path = r.path.lower()
        return path.endswith("/capabilityhosts/agents") and ("/projects/" in path) == project

    [account_host] = at(lambda r: host(r, project=False))
    [project_host] = at(lambda r: host(r, project=True))
    assert account_host < project_host
    for role in ("cosmos-db-operator", "storage-blob-data-contributor", "search-index-data-contributor",
                 "search-service-contributor"):
        [i] = role_puts(role)
        assert i < account_host, role
    [owner] = role_puts("storage-blob-data-owner")
    [data] = at(lambda r: "sqlRoleAssignments" in r.path)
    assert project_host < owner and project_host < data

    arm.reset_log()
    provision(repo, **kw)
    assert arm.writes() == 0
