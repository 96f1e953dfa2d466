"""Azure SDK access: one client per service, and get/put/delete for each planned resource type.

Every call returns ARM JSON as plain dicts (the SDK model serialised with its REST keys), so the
planner can diff them against the Bicep-shaped bodies. The SDK imports happen here, lazily, so that
`import scaffolder` and `scaffolder --help` stay fast.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scaffolder.provisioning.plan import PlannedResource

# Public clouds: ARM endpoint and Entra authority (azure-identity AzureAuthorityHosts values).
CLOUDS: dict[str, tuple[str, str]] = {
    "AzureCloud": ("https://management.azure.com", "login.microsoftonline.com"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "login.microsoftonline.us"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "login.chinacloudapi.cn"),
}
ARM_ENDPOINT_ENV = "SCAFFOLDER_ARM_ENDPOINT"


@dataclass(frozen=True)
class Connection:
    """How to reach ARM: credential, subscription, endpoint, TLS trust and LRO polling interval."""

    credential: Any
    subscription_id: str
    arm_endpoint: str = CLOUDS["AzureCloud"][0]
    connection_verify: str | bool | None = None
    polling_interval: float = 5.0
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def scopes(self) -> list[str]:
        """Token scope for the ARM endpoint."""
        return [self.arm_endpoint.rstrip("/") + "/.default"]

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by every client: ours does the retrying, so the SDK's is off."""
        kw: dict[str, Any] = {
            "credential_scopes": self.scopes,
            "polling_interval": self.polling_interval,
            "retry_total": 0,
            **self.client_kwargs,
        }
        verify = self.connection_verify
        if verify is None:
            # requests honours REQUESTS_CA_BUNDLE by itself; passing it keeps the behaviour explicit.
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or None
        if verify is not None:
            kw["connection_verify"] = verify
        return kw


def arm_endpoint_for(cloud: str, override: str | None) -> tuple[str, str]:
    """(ARM endpoint, authority host) for --cloud, with --arm-endpoint / SCAFFOLDER_ARM_ENDPOINT winning."""
    endpoint, authority = CLOUDS[cloud]
    custom = override or os.environ.get(ARM_ENDPOINT_ENV)
    return (custom.rstrip("/") if custom else endpoint), authority


def token_object_id(credential: Any, scopes: list[str]) -> str | None:
    """The `oid` claim of the caller's ARM token (the deploying principal); the token itself is discarded."""
    token = credential.get_token(*scopes).token
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    oid = payload.get("oid") if isinstance(payload, dict) else None
    return oid if isinstance(oid, str) and oid else None


def _segments(resource_id: str) -> dict[str, str]:
    parts = resource_id.strip("/").split("/")
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}


def _rest(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if hasattr(model, "serialize"):
        return dict(model.serialize(keep_readonly=True))
    data: dict[str, Any] = json.loads(json.dumps(dict(model), default=str))  # hybrid (typespec) models
    return data


class Arm:
    """The SDK clients of one connection and the per-type operations the planner needs."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @cached_property
    def cognitive(self) -> Any:
        """CognitiveServicesManagementClient (accounts, projects, deployments, catalog, quota)."""
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        c = self.conn
        return CognitiveServicesManagementClient(c.credential, c.subscription_id, base_url=c.arm_endpoint, **c.kwargs())

    @cached_property
    def resources(self) -> Any:
        """ResourceManagementClient (resource groups, generic resources)."""
        from azure.mgmt.resource.resources import ResourceManagementClient

        c = self.conn
        return ResourceManagementClient(c.credential, c.subscription_id, base_url=c.arm_endpoint, **c.kwargs())

    @cached_property
    def authorization(self) -> Any:
        """AuthorizationManagementClient (role assignments 2022-04-01, permissions)."""
        from azure.mgmt.authorization import AuthorizationManagementClient

        c = self.conn
        return AuthorizationManagementClient(c.credential, c.subscription_id, base_url=c.arm_endpoint, **c.kwargs())

    @cached_property
    def msi(self) -> Any:
        """ManagedServiceIdentityClient pinned to the Bicep's 2024-11-30."""
        from azure.mgmt.msi import ManagedServiceIdentityClient

        c = self.conn
        return ManagedServiceIdentityClient(
            c.credential, c.subscription_id, api_version="2024-11-30", base_url=c.arm_endpoint, **c.kwargs()
        )

    @cached_property
    def insights(self) -> Any:
        """ApplicationInsightsManagementClient (components 2020-02-02)."""
        from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient

        c = self.conn
        return ApplicationInsightsManagementClient(
            c.credential, c.subscription_id, base_url=c.arm_endpoint, **c.kwargs()
        )

    # -- per-type operations -------------------------------------------------------------------

    def get(self, res: PlannedResource, name: str) -> dict[str, Any] | None:
        """Current ARM JSON of the resource, or None when it does not exist."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _rest(self._call(res, name, "get", None))
        except ResourceNotFoundError:
            return None

    def put(self, res: PlannedResource, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update; waits for the long-running operation and returns the final resource."""
        return _rest(self._call(res, name, "put", body))

    def delete(self, res: PlannedResource, name: str) -> None:
        """Delete the resource (waiting for the operation); a missing resource is not an error."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self._call(res, name, "delete", None)
        except ResourceNotFoundError:
            return

    def _call(self, res: PlannedResource, name: str, op: str, body: Mapping[str, Any] | None) -> Any:
        seg = _segments(res.parent_id)
        rg = seg.get("resourcegroups", "")
        t = res.type
        if t == "Microsoft.Resources/resourceGroups":
            groups = self.resources.resource_groups
            if op == "get":
                return groups.get(name)
            if op == "put":
                from azure.mgmt.resource.resources.models import ResourceGroup

                return groups.create_or_update(name, ResourceGroup(**dict(body or {})))
            return groups.begin_delete(name).result()
        if t == "Microsoft.CognitiveServices/accounts":
            accounts = self.cognitive.accounts
            if op == "get":
                return accounts.get(rg, name)
            if op == "put":
                return accounts.begin_create(rg, name, _model("cognitiveservices", "Account", body)).result()
            return accounts.begin_delete(rg, name).result()
        if t == "Microsoft.CognitiveServices/accounts/projects":
            projects, acct = self.cognitive.projects, seg["accounts"]
            if op == "get":
                return projects.get(rg, acct, name)
            if op == "put":
                return projects.begin_create(rg, acct, name, _model("cognitiveservices", "Project", body)).result()
            return projects.begin_delete(rg, acct, name).result()
        if t == "Microsoft.CognitiveServices/accounts/deployments":
            deps, acct = self.cognitive.deployments, seg["accounts"]
            if op == "get":
                return deps.get(rg, acct, name)
            if op == "put":
                model = _model("cognitiveservices", "Deployment", body)
                return deps.begin_create_or_update(rg, acct, name, model).result()
            return deps.begin_delete(rg, acct, name).result()
        if t == "Microsoft.ManagedIdentity/userAssignedIdentities":
            ids = self.msi.user_assigned_identities
            if op == "get":
                return ids.get(rg, name)
            if op == "put":
                return ids.create_or_update(rg, name, _model("msi.v2024_11_30", "Identity", body))
            return ids.delete(rg, name)
        if t == "Microsoft.Insights/components":
            comps = self.insights.components
            if op == "get":
                return comps.get(rg, name)
            if op == "put":
                return comps.create_or_update(
                    rg, name, _model("applicationinsights.v2020_02_02", "ApplicationInsightsComponent", body)
                )
            return comps.delete(rg, name)
        if t == "Microsoft.OperationalInsights/workspaces":
            # No SDK release speaks 2025-02-01 (azure-mgmt-loganalytics 14 is 2025-07-01 only): generic client.
            rid = res.id_for(name)
            generic = self.resources.resources
            if op == "get":
                return generic.get_by_id(rid, api_version=res.api_version)
            if op == "put":
                from azure.mgmt.resource.resources.models import GenericResource

                return generic.begin_create_or_update_by_id(
                    rid, GenericResource(**dict(body or {})), api_version=res.api_version
                ).result()
            return generic.begin_delete_by_id(rid, api_version=res.api_version).result()
        if t == "Microsoft.Authorization/roleAssignments":
            ras = self.authorization.role_assignments
            if op == "get":
                return ras.get(res.parent_id, name)
            if op == "put":
                from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

                props = dict((body or {})["properties"])
                params = RoleAssignmentCreateParameters(
                    role_definition_id=props["roleDefinitionId"],
                    principal_id=props["principalId"],
                    principal_type=props["principalType"],
                )
                return ras.create(res.parent_id, name, params)
            return ras.delete(res.parent_id, name)
        raise ValueError(f"no SDK mapping for {t}")

    def equivalent_assignment(self, res: PlannedResource, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """An assignment of the same role to the same principal at the same scope under another name."""
        props = body["properties"]
        pager = self.authorization.role_assignments.list_for_scope(
            res.parent_id, filter=f"principalId eq '{props['principalId']}'"
        )
        for item in pager:
            found = _rest(item)
            p = found.get("properties", {})
            if (
                str(p.get("scope", "")).lower() == res.parent_id.lower()
                and str(p.get("roleDefinitionId", "")).lower() == str(props["roleDefinitionId"]).lower()
            ):
                return found
        return None

    # -- catalog, quota, soft delete, permissions (preflight and destroy) ------------------------

    def models(self, location: str) -> Iterator[dict[str, Any]]:
        """Models offered in a region (models.list)."""
        for item in self.cognitive.models.list(location):
            yield _rest(item)

    def usages(self, location: str) -> Iterator[dict[str, Any]]:
        """Quota usages in a region (usages.list)."""
        for item in self.cognitive.usages.list(location):
            yield _rest(item)

    def deleted_accounts(self) -> Iterator[dict[str, Any]]:
        """Soft-deleted accounts in the subscription."""
        for item in self.cognitive.deleted_accounts.list():
            yield _rest(item)

    def purge(self, location: str, resource_group: str, name: str) -> None:
        """Purge a soft-deleted account, freeing its name and custom subdomain."""
        self.cognitive.deleted_accounts.begin_purge(location, resource_group, name).result()

    def permissions(self, resource_group: str) -> list[dict[str, Any]]:
        """The caller's effective permissions on a resource group."""
        return [_rest(p) for p in self.authorization.permissions.list_for_resource_group(resource_group)]

    def resources_in_group(self, resource_group: str) -> list[dict[str, Any]]:
        """Resources left in a resource group."""
        return [_rest(r) for r in self.resources.resources.list_by_resource_group(resource_group)]


def _model(package: str, name: str, body: Mapping[str, Any] | None) -> Any:
    """Build an SDK model from Bicep-shaped JSON and make sure no property was silently dropped."""
    import importlib

    module = importlib.import_module(f"azure.mgmt.{package}.models")
    cls = getattr(module, name)
    data = json.loads(json.dumps(body or {}))
    model = cls.deserialize(data)
    if model.serialize() != data:
        # A property the SDK model does not know would be dropped on the wire: a bug in the plan.
        raise ValueError(f"{package}.{name} cannot carry {data!r}; it would send {model.serialize()!r}")
    return model
