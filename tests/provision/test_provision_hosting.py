"""Provision and destroy a repo generated with the default hosting (Container Apps) against the ARM emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator import ArmEmulator, FakeCredential
from helpers import make_spec
from provkit import ENV, destroy, offer_models, provision, write_repo

from scaffolder._render_provision import render_provision
from scaffolder.spec import ProjectSpec

REGISTRY = "Microsoft.ContainerRegistry/registries"
ENVIRONMENT = "Microsoft.App/managedEnvironments"
APP = "Microsoft.App/containerApps"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
PLACEHOLDER = "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest"


@pytest.fixture
def spec() -> ProjectSpec:
    # No hosting override: the default is what `scaffolder new` generates.
    return make_spec("agents", models=["gpt-5.4-mini", "gpt-5.4"], capacity=20)


@pytest.fixture
def repo(tmp_path: Path, spec: ProjectSpec, arm: ArmEmulator) -> Path:
    assert spec.hosting == "container-apps"
    offer_models(arm, spec)
    return write_repo(tmp_path / "repo", spec)


def _one(arm: ArmEmulator, kind: str) -> dict[str, Any]:
    found = arm.of_type(kind)
    assert len(found) == 1, (kind, found)
    return found[0]


def test_default_hosting_provisions_and_outputs_the_app_url(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    result = provision(repo, **kw)
    assert result.applied
    assert not arm.validation_errors
    assert not [r for r in arm.responses if r[2] >= 400 and r[0] != "GET"], "a clean run needs no retry"
    registry, environment, app = _one(arm, REGISTRY), _one(arm, ENVIRONMENT), _one(arm, APP)
    identity = _one(arm, "Microsoft.ManagedIdentity/userAssignedIdentities")
    # The outputs are the values ARM computed, not the names the plan guessed.
    login_server = registry["properties"]["loginServer"]
    assert login_server == f"{registry['name']}.azurecr.io"
    fqdn = app["properties"]["configuration"]["ingress"]["fqdn"]
    assert fqdn == f"{app['name']}.{environment['properties']['defaultDomain']}"
    assert result.outputs["SERVICE_API_URI"] == f"https://{fqdn}"
    assert result.outputs["SERVICE_API_NAME"] == app["name"]
    assert result.outputs["AZURE_CONTAINER_REGISTRY_ENDPOINT"] == login_server
    # The app pulls from that registry as its own identity, which runs it and holds AcrPull there only.
    config = app["properties"]["configuration"]
    assert config["registries"] == [{"server": login_server, "identity": identity["id"]}]
    assert list(app["identity"]["userAssignedIdentities"]) == [identity["id"]]
    assert app["properties"]["environmentId"].lower() == environment["id"].lower()
    assert app["tags"]["azd-service-name"] == "api"
    container = app["properties"]["template"]["containers"][0]
    # ingress and probes target the app's port already: `azd deploy` swaps only the image
    assert container["image"] == PLACEHOLDER and config["ingress"]["targetPort"] == 8000
    assert {p["type"] for p in container["probes"]} == {"Liveness", "Readiness"}
    # half a core, sent as the number json('0.5') makes (Consumption pairs 0.5 vCPU with 1Gi)
    assert container["resources"] == {"cpu": 0.5, "memory": "1Gi"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AZURE_CLIENT_ID"] == identity["properties"]["clientId"] == result.outputs["AZURE_CLIENT_ID"]
    assert env["AZURE_OPENAI_ENDPOINT"] == result.outputs["AZURE_OPENAI_ENDPOINT"]
    assert env["AZURE_AI_PROJECT_ENDPOINT"] == result.outputs["AZURE_AI_PROJECT_ENDPOINT"]
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == result.outputs["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    pulls = [
        ra["properties"]
        for ra in arm.of_type("Microsoft.Authorization/roleAssignments")
        if ra["properties"]["roleDefinitionId"].endswith(ACR_PULL)
    ]
    assert [(p["scope"].lower(), p["principalId"]) for p in pulls] == [
        (registry["id"].lower(), identity["properties"]["principalId"])
    ]
    # The environment's logs go to the workspace through a diagnostic setting, never a shared key.
    assert "logAnalyticsConfiguration" not in str(environment["properties"])
    settings = arm.of_type("Microsoft.Insights/diagnosticSettings")
    assert [s["id"].lower().rsplit("/providers/", 1)[0] for s in settings] == [environment["id"].lower()]
    # The azd environment file gets the URL azd itself would write.
    env_file = (repo / ".azure" / ENV / ".env").read_text(encoding="utf-8")
    assert f'SERVICE_API_URI="https://{fqdn}"' in env_file.splitlines()


def test_rerun_with_default_hosting_writes_nothing(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    first = provision(repo, **kw)
    arm.reset_log()
    second = provision(repo, **kw)
    assert {c.action for c in second.changes} == {"unchanged"}, [
        (c.key, c.differences) for c in second.changes if c.action != "unchanged"
    ]
    assert arm.writes() == 0, arm.methods()
    assert second.outputs == first.outputs


def test_provision_after_azd_deploy_keeps_the_deployed_image(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    # azd deploy records the image it pushed; the parameters file feeds it back as apiImageName.
    env_file = repo / ".azure" / ENV / ".env"
    login = _one(arm, REGISTRY)["properties"]["loginServer"]
    image = f"{login}/demo/api-{ENV}:azd-deploy-1732900000"
    env_file.write_text(env_file.read_text(encoding="utf-8") + f'SERVICE_API_IMAGE_NAME="{image}"\n', "utf-8")
    arm.reset_log()
    result = provision(repo, **kw)
    changed = {c.key for c in result.changes if c.action != "unchanged"}
    assert changed == {"containerApp.app"}, changed
    assert [p for m, p, _ in arm.responses if m == "PUT"] == [_one(arm, APP)["id"]]
    app = _one(arm, APP)
    container = app["properties"]["template"]["containers"][0]
    assert container["image"] == image
    assert app["properties"]["configuration"]["ingress"]["targetPort"] == 8000
    assert {p["type"] for p in container["probes"]} == {"Liveness", "Readiness"}
    # A new revision, the same app URL.
    assert result.outputs["SERVICE_API_URI"] == f"https://{app['properties']['configuration']['ingress']['fqdn']}"


def test_destroy_removes_the_hosting_resources(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    result = destroy(repo, purge=True, **kw)
    assert result.applied and result.resource_group_deleted
    assert not arm.resources and not arm.deleted_accounts
    deletes = [p.lower() for m, p, _ in arm.responses if m == "DELETE"]

    def index(pattern: str) -> int:
        found = [i for i, p in enumerate(deletes) if re.search(pattern, p)]
        assert len(found) == 1, (pattern, deletes)
        return found[0]

    app = index(r"/microsoft\.app/containerapps/[^/]+$")
    environment = index(r"/microsoft\.app/managedenvironments/[^/]+$")
    registry = index(r"/microsoft\.containerregistry/registries/[^/]+$")
    identity = index(r"/microsoft\.managedidentity/userassignedidentities/[^/]+$")
    # The app goes before the environment it runs in and the registry and identity it uses.
    assert app < environment and app < registry and app < identity
    # The name is free again: a fresh provision creates everything anew.
    assert provision(repo, **kw).applied
    assert _one(arm, APP)["properties"]["provisioningState"] == "Succeeded"


def test_the_developer_and_app_roles_are_unchanged_by_hosting(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    developer = FakeCredential().object_id
    mine = sorted(
        ra["properties"]["roleDefinitionId"].rsplit("/", 1)[1]
        for ra in arm.of_type("Microsoft.Authorization/roleAssignments")
        if ra["properties"]["principalId"] == developer
    )
    # Foundry User, Reader, Log Analytics Reader: hosting grants the developer nothing more (azd pushes with
    # the deployer's own token; the registry gives pull to the app identity only).
    assert mine == sorted(
        ["53ca6127-db72-4b80-b1b0-d745d6d5456d", "acdd72a7-3385-48ef-bd42-f606fba81ae7",
         "73c42c96-874c-492b-b04d-ab87d138a893"]
    )


def azd_deploy(arm: ArmEmulator, app_id: str, image: str) -> None:
    """Ship an image the way `azd deploy` does: GET the app, change only the first container's image (and a
    revision suffix), PUT the rest back as it was. Source: Azure/azure-dev cli/azd/pkg/containerapps/
    container_app.go, AddRevision (ingress, probes and settings are copied from the current app)."""
    url = f"{arm.url}{app_id}?api-version=2025-07-01"
    auth = {"Authorization": "Bearer azd"}
    current = requests.get(url, headers=auth, verify=arm.ca_path, timeout=10)
    current.raise_for_status()
    app = current.json()
    # ARM ignores read-only properties on a PUT; the strict emulator refuses them, so drop them as an SDK
    # serializer does.
    for key in ("id", "type", "systemData"):
        app.pop(key, None)
    for key in ("latestRevisionName", "latestReadyRevisionName", "latestRevisionFqdn", "runningStatus",
                "outboundIpAddresses", "customDomainVerificationId", "provisioningState"):
        app["properties"].pop(key, None)
    app["properties"]["configuration"]["ingress"].pop("fqdn", None)
    app["identity"]["userAssignedIdentities"] = {k: {} for k in app["identity"]["userAssignedIdentities"]}
    app["properties"]["template"]["revisionSuffix"] = "azd-1732900000"
    app["properties"]["template"]["containers"][0]["image"] = image
    put = requests.put(url, json=app, headers=auth, verify=arm.ca_path, timeout=10)
    assert put.status_code < 300, put.text


def test_first_azd_up_serves_the_app_on_its_port_with_probes(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    # `azd up` = provision (no image yet: the placeholder) then deploy (image swap only).
    provision(repo, **kw)
    login = _one(arm, REGISTRY)["properties"]["loginServer"]
    image = f"{login}/demo/api-{ENV}:azd-deploy-1732900000"
    azd_deploy(arm, _one(arm, APP)["id"], image)
    app = _one(arm, APP)
    container = app["properties"]["template"]["containers"][0]
    assert container["image"] == image
    # The deployed uvicorn listens on 8000: ingress and probes must already point there, since the deploy
    # never touches them.
    assert app["properties"]["configuration"]["ingress"]["targetPort"] == 8000
    probes = {p["type"]: p["httpGet"] for p in container["probes"]}
    assert probes == {
        "Liveness": {"path": "/healthz", "port": 8000, "scheme": "HTTP"},
        "Readiness": {"path": "/healthz", "port": 8000, "scheme": "HTTP"},
    }


def test_provision_says_azd_deploy_ships_the_code_and_shows_the_url(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = provision(repo, **kw)
    render_provision(result)
    err = capsys.readouterr().err
    url = result.outputs["SERVICE_API_URI"]
    assert f"  SERVICE_API_URI={url}" in err.splitlines()
    assert "the container app runs a placeholder image: run `azd deploy` to build and ship the API" in err
    # Once azd deployed an image (recorded in the azd environment), provision keeps it and says so.
    env_file = repo / ".azure" / ENV / ".env"
    image = f"{_one(arm, REGISTRY)['properties']['loginServer']}/demo/api-{ENV}:azd-deploy-1732900000"
    env_file.write_text(env_file.read_text(encoding="utf-8") + f'SERVICE_API_IMAGE_NAME="{image}"\n', "utf-8")
    render_provision(provision(repo, **kw))
    err = capsys.readouterr().err
    assert "placeholder" not in err
    assert f"the container app runs {image}; `azd deploy` ships code changes" in err


def test_preview_with_default_hosting_plans_the_hosting_and_writes_nothing(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    result = provision(repo, preview=True, **kw)
    assert not result.applied and result.outputs == {} and result.removed == []
    assert arm.writes() == 0, arm.methods()
    created = {c.key for c in result.changes if c.action == "create"}
    assert {"containerApp.app", "registry.registry", "containerEnvironment.environment"} <= created, created
