"""Azure SDK access: generic by-id get/put/delete for every resource type, plus preflight's reads.

Resources are written with azure-mgmt-resource's generic `resources.*_by_id` operations: resource id,
API version and body are the Bicep's, the SDK brings ARM's long-running-operation protocol (ARMPolling)
and error mapping, and responses come back as the raw ARM JSON (no model in between that could drop a
property). A type the tool has never seen therefore needs no code. The SDK imports happen here, lazily,
so that `import scaffolder` and `scaffolder --help` stay fast.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from scaffolder.provisioning.faults import Control, MalformedResponse
from scaffolder.provisioning.plan import PlannedResource

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

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

    credential: TokenCredential
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


def token_object_id(credential: TokenCredential, scopes: list[str]) -> str | None:
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


def _rest(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if hasattr(model, "serialize"):
        return dict(model.serialize(keep_readonly=True))
    if hasattr(model, "as_dict"):
        # Hybrid (typespec) models: as_dict() keeps nested models as JSON (dict() would turn them into strings).
        return dict(model.as_dict())
    data: dict[str, Any] = json.loads(json.dumps(dict(model), default=str))
    return data


class Arm:
    """The SDK clients of one connection: generic by-id resource calls plus the reads preflight needs."""

    def __init__(self, conn: Connection, control: Control | None = None) -> None:
        self.conn = conn
        self.control = control or Control()

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

    # -- generic by-id operations (every resource type, known to the tool or not) -----------------

    def _raw(self) -> dict[str, Any]:
        # The raw ARM JSON, not a model: a model would drop properties it does not know (and the diff
        # would then see a change on every run).
        return {"cls": lambda pipeline_response, _deserialized, _headers: _json_body(pipeline_response)}

    def _polling(self) -> Any:
        """ARM's LRO protocol (Azure-AsyncOperation / Location) with Retry-After capped and Ctrl-C/deadline honoured."""
        from azure.mgmt.core.polling.arm_polling import ARMPolling

        control = self.control

        class _Polling(ARMPolling):
            def _sleep(self, delay: float) -> None:
                control.wait(delay, "waiting for a long-running operation")

        return _Polling(self.conn.polling_interval)

    def get(self, res: PlannedResource, name: str) -> dict[str, Any] | None:
        """Current ARM JSON of the resource, or None when it does not exist."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            found = self.resources.resources.get_by_id(res.id_for(name), api_version=res.api_version, **self._raw())
        except ResourceNotFoundError:
            return None
        return dict(found)

    def put(self, res: PlannedResource, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update by id; waits for the long-running operation and returns the final resource."""
        self.control.check("writing")
        poller = self.resources.resources.begin_create_or_update_by_id(
            res.id_for(name), dict(body), api_version=res.api_version, polling=self._polling(), **self._raw()
        )
        return dict(self.control.result(poller) or {})

    def delete(self, res: PlannedResource, name: str) -> None:
        """Delete by id (waiting for the operation); a missing resource is not an error."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            poller = self.resources.resources.begin_delete_by_id(
                res.id_for(name), api_version=res.api_version, polling=self._polling()
            )
            self.control.result(poller)
        except ResourceNotFoundError:
            return

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

    def assignments_at(self, scope: str) -> list[dict[str, Any]]:
        """Role assignments made at exactly this scope (atScope() also returns inherited ones; those are dropped)."""
        found = [_rest(item) for item in self.authorization.role_assignments.list_for_scope(scope, filter="atScope()")]
        return [a for a in found if str(a.get("properties", {}).get("scope", "")).lower() == scope.lower()]

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

    def children(self, parent_id: str, child_type: str, api_version: str) -> list[dict[str, Any]]:
        """Child resources of one type under a parent (GET <parent id>/<child segment>, following nextLink)."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.core.rest import HttpRequest

        collection = f"{parent_id}/{child_type.rsplit('/', 1)[-1]}"
        try:
            page = self.resources.resources.get_by_id(collection, api_version=api_version, **self._raw())
        except ResourceNotFoundError:
            return []  # the parent went away meanwhile: nothing under it
        found = [dict(v) for v in page.get("value", []) if isinstance(v, Mapping)]
        while page.get("nextLink"):
            response = self.resources.send_request(HttpRequest("GET", str(page["nextLink"])))
            response.raise_for_status()
            page = response.json()
            found += [dict(v) for v in page.get("value", []) if isinstance(v, Mapping)]
        return found

    def provider(self, namespace: str) -> dict[str, Any] | None:
        """A resource provider's types and their API versions (None: ARM knows no such namespace)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _rest(self.resources.providers.get(namespace))
        except ResourceNotFoundError:
            return None

    def resources_in_group(self, resource_group: str) -> list[dict[str, Any]]:
        """Resources left in a resource group."""
        return [_rest(r) for r in self.resources.resources.list_by_resource_group(resource_group)]


def _json_body(pipeline_response: Any) -> Any:
    """The response body as JSON; a body that is not JSON is a MalformedResponse (retried, then reported)."""
    response = pipeline_response.http_response
    text = response.text()
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        raise MalformedResponse(response.status_code, text) from None
