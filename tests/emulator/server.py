"""A loopback ARM emulator over HTTPS (trustme certificate) for the subset of ARM that provisioning uses.

It keeps resources in memory, runs PUT/DELETE of long-running types as operations the SDK polls through
Azure-AsyncOperation / Location headers (provisioningState Creating -> Succeeded), enforces one write at a
time per Cognitive Services account (409 RequestConflict, like ARM), validates every PUT body against the
SDK model class and Bicep's type data for the exact api-version, counts requests by method, and plays
scripted faults (429 + Retry-After, 5xx, 409, LRO Failed, quota, soft delete, principal replication).
"""

from __future__ import annotations

import importlib
import json
import math
import re
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from scaffolder.provisioning.registry import resource_types

from . import schema

TENANT = "72f988bf-0000-4000-8000-000000000000"

# How the emulator treats each type: the SDK model class its PUT bodies must fit (None: Bicep type data
# only) and whether writes are long-running. API versions and canonical spellings come from the tool's
# resource type registry (scaffolder/catalog/resource_types.yaml), so a type added there is served here.
BEHAVIOUR: dict[str, tuple[str | None, str | None, bool]] = {
    "microsoft.resources/resourcegroups": (None, None, False),
    "microsoft.cognitiveservices/accounts": ("azure.mgmt.cognitiveservices.models", "Account", True),
    "microsoft.cognitiveservices/accounts/projects": ("azure.mgmt.cognitiveservices.models", "Project", True),
    "microsoft.cognitiveservices/accounts/deployments": ("azure.mgmt.cognitiveservices.models", "Deployment", True),
    "microsoft.managedidentity/userassignedidentities": ("azure.mgmt.msi.v2024_11_30.models", "Identity", False),
    "microsoft.operationalinsights/workspaces": (None, None, True),
    "microsoft.insights/components": (
        "azure.mgmt.applicationinsights.v2020_02_02.models",
        "ApplicationInsightsComponent",
        False,
    ),
    "microsoft.authorization/roleassignments": (
        "azure.mgmt.authorization.v2022_04_01.models",
        "RoleAssignmentCreateParameters",
        False,
    ),
}
# type -> (api-version ARM accepts here, SDK model module, class, long-running)
TYPES: dict[str, tuple[str, str | None, str | None, bool]] = {
    low: (entry.api_version, *BEHAVIOUR.get(low, (None, None, True))) for low, entry in resource_types().items()
}
CANONICAL = {low: entry.type for low, entry in resource_types().items()}
COGNITIVE_API = "2025-09-01"
AUTHZ_API = "2022-04-01"
WRITE_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})


class DropConnection(Exception):
    """Close the connection without an answer (a TCP reset as the client sees it)."""


class MalformedAnswer(Exception):
    """Answer 200 with a body that is not JSON (a proxy error page, a truncated answer)."""


class ArmHttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class Fault:
    """A scripted failure: the next `times` requests matching method + path substring get it.

    With lro=True the PUT is accepted and its long-running operation ends Failed with `code`. `kind` plays
    a transport fault instead of an ARM error: "reset" drops the connection before answering, "reset-after"
    handles the request and then drops the connection (the answer is lost), "malformed" answers 200 with a
    body that is not JSON.
    """

    method: str
    path_contains: str
    status: int = 500
    code: str = "InternalServerError"
    message: str = "injected fault"
    times: int = 1
    retry_after: str | None = None
    lro: bool = False
    hits: int = 0
    kind: str = "error"

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0 or method != self.method:
            return False
        wanted, low = self.path_contains.lower(), path.lower()
        # A trailing '$' anchors the match at the end of the path.
        return low.endswith(wanted[:-1]) if wanted.endswith("$") else wanted in low


@dataclass
class Operation:
    id: str
    resource_id: str | None
    started: float
    kind: str  # "put" | "delete" | "purge"
    account_lock: str | None = None
    polls: int = 0
    failure: tuple[str, str] | None = None
    finished: bool = False
    status: str = "InProgress"


@dataclass
class Recorded:
    method: str
    path: str
    api_version: str | None
    body: Any
    authorization: bool


@dataclass
class Offer:
    """A model the emulator's region catalog offers."""

    name: str
    version: str
    format: str
    skus: tuple[str, ...]
    lifecycle: str = "GenerallyAvailable"
    deprecation: str | None = None
    # SKU -> quota usage name, where Azure's differs from OpenAI.<sku>.<model> (e.g. OpenAI.GlobalStandard.gpt4.1-mini)
    usage_names: dict[str, str] = field(default_factory=dict)


@dataclass
class ArmEmulator:
    subscription_id: str = "00000000-0000-4000-8000-0000000000aa"
    lro_latency: float = 0.0
    min_polls: int = 1
    directory: set[str] = field(default_factory=set)
    quota_limit: int = 1000
    retry_after: bool = False
    permissions: list[dict[str, Any]] = field(default_factory=lambda: [{"actions": ["*"], "notActions": []}])

    def __post_init__(self) -> None:
        self.responses: list[tuple[str, str, int]] = []
        self.resources: dict[str, dict[str, Any]] = {}
        self.deleted_accounts: dict[str, dict[str, Any]] = {}
        # Optional per-type normalisation of a stored resource (lower-case type -> hook), as real resource
        # providers do: canonical casing of enums and regions, write-only properties left out of reads.
        self.normalisers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.operations: dict[str, Operation] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.offers: dict[str, list[Offer]] = {}
        self.model_capabilities: dict[str, dict[str, str]] = {}  # models.list capabilities by model name
        self.quota: dict[tuple[str, str], int] = {}
        self.busy_accounts: dict[str, str] = {}  # account id -> operation id holding it
        self.max_parallel_account_writes = 0
        self.lock = threading.RLock()
        self.validation_errors: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.ca_path = ""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, tls_dir: Path) -> ArmEmulator:
        ca = trustme.CA()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        self.ca_path = str(tls_dir / "emulator-ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        emulator = self

        class Handler(_Handler):
            arm = emulator

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- test helpers --------------------------------------------------------------------------

    def offer(self, location: str, offer: Offer) -> None:
        self.offers.setdefault(location, []).append(offer)

    def set_quota(self, location: str, usage_name: str, limit: int) -> None:
        self.quota[(location, usage_name)] = limit

    def inject(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def count(self, method: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if method is None or r.method == method)

    def writes(self) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.method in WRITE_METHODS)

    def methods(self) -> Counter[str]:
        with self.lock:
            return Counter(r.method for r in self.requests)

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.responses.clear()

    def api_versions(self) -> dict[str, set[str]]:
        """api-version seen per resource type on writes (and reads) of resources."""
        seen: dict[str, set[str]] = {}
        with self.lock:
            for r in self.requests:
                t = _type_of(r.path)
                if t and r.api_version:
                    seen.setdefault(CANONICAL.get(t, t), set()).add(r.api_version)
        return seen

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        with self.lock:
            self._settle()
            return self.resources.get(resource_id.lower())

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        with self.lock:
            self._settle()
            return [r for r in self.resources.values() if r["type"].lower() == resource_type.lower()]

    def soft_delete(self, location: str, resource_group: str, name: str) -> None:
        """Pretend an account of this name was deleted earlier (it holds the name for 48 hours)."""
        sub = f"/subscriptions/{self.subscription_id}"
        rid = f"{sub}/resourceGroups/{resource_group}/providers/Microsoft.CognitiveServices/accounts/{name}"
        self.deleted_accounts[name.lower()] = {
            "id": f"{sub}/providers/Microsoft.CognitiveServices/locations/{location}/resourceGroups/{resource_group}"
            f"/deletedAccounts/{name}",
            "name": name,
            "type": "Microsoft.CognitiveServices/deletedAccounts",
            "location": location,
            "kind": "AIServices",
            "properties": {"deletionDate": "2026-11-24T10:00:00Z", "scheduledPurgeDate": "2026-11-26T10:00:00Z"},
            "_original": rid,
        }

    # -- operations ----------------------------------------------------------------------------

    def _settle(self) -> None:
        """Finish operations whose time has come (reads of the resource count as polls)."""
        now = time.monotonic()
        for op in list(self.operations.values()):
            if not op.finished and now - op.started >= self.lro_latency and op.polls >= self.min_polls:
                self._finish(op)

    def _finish(self, op: Operation) -> None:
        op.finished = True
        if op.account_lock and self.busy_accounts.get(op.account_lock) == op.id:
            del self.busy_accounts[op.account_lock]
        if op.failure is not None:
            op.status = "Failed"
            if op.resource_id and op.resource_id in self.resources:
                self.resources[op.resource_id]["properties"]["provisioningState"] = "Failed"
            return
        op.status = "Succeeded"
        if op.kind == "put" and op.resource_id in self.resources:
            self.resources[op.resource_id]["properties"]["provisioningState"] = "Succeeded"
        elif op.kind == "delete" and op.resource_id:
            self._remove(op.resource_id)

    def _remove(self, rid: str) -> None:
        res = self.resources.get(rid)
        if res is None:
            return
        if res["type"].lower() == "microsoft.resources/resourcegroups":
            for other in [k for k in self.resources if k.startswith(rid + "/")]:
                self._remove(other)
        elif res["type"].lower() == "microsoft.cognitiveservices/accounts":
            self.soft_delete(res["location"], res["id"].split("/")[4], res["name"])
        for child in [k for k in self.resources if k.startswith(rid + "/")]:
            self.resources.pop(child, None)
        self.resources.pop(rid, None)

    def _start_op(self, resource_id: str | None, kind: str, account_lock: str | None = None) -> Operation:
        op = Operation(uuid.uuid4().hex, resource_id, time.monotonic(), kind, account_lock)
        self.operations[op.id] = op
        if account_lock:
            self.busy_accounts[account_lock] = op.id
            busy = len(self.busy_accounts)
            self.max_parallel_account_writes = max(self.max_parallel_account_writes, busy)
        return op

    def _lro_headers(self, op: Operation, location_style: bool = False) -> dict[str, str]:
        headers = {"Azure-AsyncOperation": f"{self.url}/operations/{op.id}"}
        if location_style:
            headers = {"Location": f"{self.url}/operationresults/{op.id}"}
        if self.retry_after:
            # Whole seconds, as ARM sends them (some SDK pollers parse the header with int()).
            remaining = self.lro_latency - (time.monotonic() - op.started)
            headers["Retry-After"] = str(max(1, math.ceil(remaining)))
        return headers

    # -- request handling ----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        api_version = query.get("api-version")
        with self.lock:
            self.requests.append(
                Recorded(method, path, api_version, body, headers.get("authorization", "").startswith("Bearer "))
            )
            if not headers.get("authorization", "").startswith("Bearer "):
                raise ArmHttpError(401, "AuthenticationFailed", "missing bearer token")
            drop_after = False
            for fault in self.faults:
                if fault.matches(method, path) and not fault.lro:
                    fault.times -= 1
                    fault.hits += 1
                    if fault.kind == "reset":
                        raise DropConnection()
                    if fault.kind == "malformed":
                        raise MalformedAnswer()
                    if fault.kind == "reset-after":
                        drop_after = True
                        break
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    raise ArmHttpError(fault.status, fault.code, fault.message, extra)
            self._settle()
            answer = self._route(method, path, query, api_version, body)
            if drop_after:
                raise DropConnection()
            return answer

    def _route(
        self, method: str, path: str, query: dict[str, str], api_version: str | None, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        low = path.lower()
        m = re.fullmatch(r"/operations/([0-9a-f]+)", low)
        if m:
            return self._op_status(m.group(1))
        m = re.fullmatch(r"/operationresults/([0-9a-f]+)", low)
        if m:
            op = self.operations[m.group(1)]
            op.polls += 1
            self._settle()
            if not op.finished:
                return 202, None, self._lro_headers(op, location_style=True)
            if op.failure:
                raise ArmHttpError(400, op.failure[0], op.failure[1])
            return 204, None, {}
        sub = f"/subscriptions/{self.subscription_id}".lower()
        if not low.startswith(sub):
            raise ArmHttpError(404, "SubscriptionNotFound", f"subscription in {path} not found")
        rest = low[len(sub) :]
        cs = "/providers/microsoft.cognitiveservices"
        if rest.startswith(cs + "/locations/"):
            return self._cognitive_location(method, path, rest[len(cs + "/locations/") :], api_version)
        if rest == cs + "/deletedaccounts":
            self._need(api_version, COGNITIVE_API)
            return 200, {"value": [self._public(d) for d in self.deleted_accounts.values()]}, {}
        provider = re.fullmatch(r"/providers/([^/]+)", rest)
        if provider and method == "GET":
            return 200, self._provider(path.rsplit("/", 1)[1]), {}
        if re.fullmatch(r"/resourcegroups/[^/]+/providers/microsoft\.authorization/permissions", rest):
            self._need(api_version, AUTHZ_API)
            self._group_or_404(path)
            return 200, {"value": self.permissions}, {}
        if re.fullmatch(r"/resourcegroups/[^/]+/resources", rest):
            rg_id = path[: -len("/resources")].lower()
            self._group_or_404(path)
            items = [self._public(r) for k, r in self.resources.items() if k.startswith(rg_id + "/providers/")]
            return 200, {"value": items}, {}
        ra = re.fullmatch(r"(.*)/providers/microsoft\.authorization/roleassignments(?:/([^/]+))?", low)
        if ra:
            scope = path[: len(ra.group(1))]
            name = path[len(path) - len(ra.group(2)) :] if ra.group(2) else None
            return self._role_assignment(method, scope, name, query, api_version, body)
        if re.fullmatch(r"/resourcegroups/[^/]+", rest):
            return self._resource(method, path, "microsoft.resources/resourcegroups", api_version, body)
        collection = re.fullmatch(r"/resourcegroups/[^/]+/providers/[^/]+(?:/[^/]+/[^/]+)+/[^/]+", rest)
        if collection and method == "GET":
            # A child collection (an account's deployments, a project's connections), listed as ARM lists them.
            ctype = _type_of(path + "/x")
            if ctype in TYPES:
                self._need(api_version, TYPES[ctype][0])
            self._group_or_404(path)
            parent = path.rsplit("/", 1)[0].lower()
            if parent not in self.resources:
                raise ArmHttpError(404, "ParentResourceNotFound", f"{parent} not found")
            items = [self._public(r) for k, r in self.resources.items()
                     if k.startswith(low + "/") and "/" not in k[len(low) + 1:]]
            return 200, {"value": items}, {}
        rtype = _type_of(path)
        if rtype is not None and rtype != "microsoft.resources/resourcegroups":
            if rtype not in TYPES and api_version and schema.available():
                # A type outside the registry that Bicep's type data knows is served like ARM would: a
                # generic long-running resource whose bodies are validated against that type data.
                canonical = _canonical_type(path)
                if schema.has_type(canonical, api_version):
                    TYPES[rtype] = (api_version, None, None, True)
                    CANONICAL[rtype] = canonical
            if rtype not in TYPES:
                raise ArmHttpError(400, "NoRegisteredProviderFound", f"type {rtype} is not served by the emulator")
            return self._resource(method, path, rtype, api_version, body)
        raise ArmHttpError(404, "NotFound", f"no route for {method} {path}")

    def _provider(self, namespace: str) -> dict[str, Any]:
        """A provider's resource types and API versions: the registry's, plus the type data's when present."""
        low = namespace.lower() + "/"
        versions: dict[str, set[str]] = {}
        for rtype, (api_version, *_rest) in TYPES.items():
            if rtype.startswith(low):
                versions.setdefault(CANONICAL[rtype].split("/", 1)[1], set()).add(api_version)
        if schema.available():
            for name, found in schema.versions(namespace).items():
                versions.setdefault(name, set()).update(found)
        if not versions:
            raise ArmHttpError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
        types = [{"resourceType": name, "apiVersions": sorted(v, reverse=True)} for name, v in sorted(versions.items())]
        return {"id": f"/subscriptions/{self.subscription_id}/providers/{namespace}", "namespace": namespace,
                "registrationState": "Registered", "resourceTypes": types}

    def _need(self, api_version: str | None, expected: str) -> None:
        if api_version != expected:
            raise ArmHttpError(
                400, "InvalidApiVersionParameter", f"api-version {api_version!r} is not {expected!r} here"
            )

    def _group_or_404(self, path: str) -> None:
        rg_id = "/".join(path.split("/")[:5]).lower()
        if rg_id not in self.resources:
            raise ArmHttpError(404, "ResourceGroupNotFound", f"resource group {path.split('/')[4]} not found")

    def _public(self, res: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in res.items() if not k.startswith("_")}

    def _op_status(self, op_id: str) -> tuple[int, Any, dict[str, str]]:
        op = self.operations.get(op_id)
        if op is None:
            raise ArmHttpError(404, "NotFound", "operation not found")
        op.polls += 1
        self._settle()
        doc: dict[str, Any] = {"id": op.id, "status": op.status if op.finished else "InProgress"}
        if op.failure and op.finished:
            doc["error"] = {"code": op.failure[0], "message": op.failure[1]}
        return 200, doc, ({} if op.finished else self._lro_headers(op))

    def _validate(self, rtype: str, api_version: str, body: Any) -> None:
        problems: list[str] = []
        if not isinstance(body, dict):
            raise ArmHttpError(400, "InvalidRequestContent", "body must be a JSON object")
        _, module, cls, _ = TYPES[rtype]
        if module and cls:
            model_cls = getattr(importlib.import_module(module), cls)
            try:
                model = model_cls.deserialize(body)
            except Exception as exc:  # the SDK's own deserializer rejects wrong types
                raise ArmHttpError(400, "InvalidRequestContent", f"{cls}: {exc}") from None
            problems += [f"{cls}: unknown property {p}" for p in _additional(model)]
            if model.serialize() != body:
                problems.append(f"{cls}: read-only or unknown properties sent")
        if rtype == "microsoft.resources/resourcegroups":
            problems += [
                f"unknown property {k}" for k in body if k not in {"location", "tags", "managedBy", "properties"}
            ]
        elif schema.available():
            problems += schema.validate(CANONICAL[rtype], api_version, body)
        if problems:
            self.validation_errors.extend(problems)
            raise ArmHttpError(400, "InvalidRequestContent", "; ".join(problems))

    def _resource(
        self, method: str, path: str, rtype: str, api_version: str | None, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        expected, _, _, lro = TYPES[rtype]
        self._need(api_version, expected)
        rid = path.lower()
        parts = path.split("/")
        if rtype != "microsoft.resources/resourcegroups":
            self._group_or_404(path)
        account_id = "/".join(parts[:9]).lower() if rtype.startswith("microsoft.cognitiveservices/accounts") else None
        if rtype.startswith("microsoft.cognitiveservices/accounts/") and account_id not in self.resources:
            raise ArmHttpError(404, "ParentResourceNotFound", f"account {parts[8]} not found")
        existing = self.resources.get(rid)
        if method == "GET":
            if existing is None:
                raise ArmHttpError(404, "ResourceNotFound", f"{CANONICAL[rtype]} '{parts[-1]}' was not found")
            for op in self.operations.values():
                if op.resource_id == rid and not op.finished:
                    op.polls += 1
            self._settle()
            return 200, self._public(self.resources[rid]), {}
        if method == "DELETE":
            if existing is None:
                return 204, None, {}
            if account_id is not None:
                self._claim_account(account_id)
            if not lro and rtype != "microsoft.resources/resourcegroups":
                self._remove(rid)
                return 200, None, {}
            op = self._start_op(rid, "delete", account_id)
            existing["properties"]["provisioningState"] = "Deleting"
            return 202, None, self._lro_headers(op, location_style=True)
        if method != "PUT":
            raise ArmHttpError(405, "MethodNotAllowed", method)
        self._validate(rtype, expected, body)
        if account_id is not None:
            self._claim_account(account_id)
        resource = self._materialise(rtype, path, body, existing)
        hook = self.normalisers.get(rtype)
        if hook is not None:
            hook(resource)
        for fault in self.faults:
            if fault.lro and fault.matches("PUT", path):
                fault.times -= 1
                fault.hits += 1
                failure: tuple[str, str] | None = (fault.code, fault.message)
                break
        else:
            failure = None
        self.resources[rid] = resource
        if not lro:
            # Application Insights answers 200 even on create (its SDK accepts nothing else).
            created = 200 if existing or rtype == "microsoft.insights/components" else 201
            return created, self._public(resource), {}
        resource["properties"]["provisioningState"] = "Updating" if existing else "Creating"
        op = self._start_op(rid, "put", account_id)
        op.failure = failure
        return (200 if existing else 201), self._public(resource), self._lro_headers(op)

    def _claim_account(self, account_id: str) -> None:
        holder = self.busy_accounts.get(account_id)
        if holder is not None:
            # Time passes between a client's tries: count this as a look at the running operation.
            self.operations[holder].polls += 1
            self._settle()
        if holder is not None and not self.operations[holder].finished:
            raise ArmHttpError(
                409,
                "RequestConflict",
                "Another operation is being performed on the parent resource. Please try again later.",
            )

    def _materialise(
        self, rtype: str, path: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        parts = path.split("/")
        name = parts[-1]
        canonical_id = path
        res: dict[str, Any] = {"id": canonical_id, "name": name, "type": CANONICAL[rtype]}
        props = dict(body.get("properties") or {})
        for key, value in body.items():
            if key not in ("id", "name", "type", "properties"):
                res[key] = json.loads(json.dumps(value))
        old_props = (existing or {}).get("properties", {})
        if rtype == "microsoft.cognitiveservices/accounts":
            restore = props.pop("restore", False)
            deleted = self.deleted_accounts.get(name.lower())
            if existing is None and deleted is not None:
                if not restore:
                    raise ArmHttpError(
                        409,
                        "FlagMustBeSetForRestore",
                        f"An existing resource with ID '{deleted['_original']}' has been soft-deleted. To restore "
                        "the resource, you must specify 'restore' to be 'true' in the property. If you don't want "
                        "to restore existing resource, please purge it first.",
                    )
                del self.deleted_accounts[name.lower()]
            elif existing is None and restore:
                raise ArmHttpError(400, "CanNotRestoreANonExistingResource", f"no soft-deleted account {name}")
            sub = props.get("customSubDomainName", name)
            props["endpoint"] = f"https://{sub}.cognitiveservices.azure.com/"
            props["endpoints"] = {
                "OpenAI Language Model Instance API": f"https://{sub}.openai.azure.com/",
                "AI Foundry API": f"https://{sub}.services.ai.azure.com/",
                "Azure AI Model Inference API": f"https://{sub}.services.ai.azure.com/",
            }
            res["identity"] = self._system_identity(res.get("identity"), existing)
        elif rtype == "microsoft.cognitiveservices/accounts/projects":
            sub = self.resources["/".join(parts[:9]).lower()]["properties"].get("customSubDomainName", parts[8])
            props["endpoints"] = {"AI Foundry API": f"https://{sub}.services.ai.azure.com/api/projects/{name}"}
            res["identity"] = self._system_identity(res.get("identity"), existing)
        elif rtype == "microsoft.cognitiveservices/accounts/deployments":
            self._check_deployment(path, body, existing)
        elif rtype == "microsoft.managedidentity/userassignedidentities":
            props["principalId"] = old_props.get("principalId") or str(uuid.uuid4())
            props["clientId"] = old_props.get("clientId") or str(uuid.uuid4())
            props["tenantId"] = TENANT
            self.directory.add(props["principalId"])
        elif rtype == "microsoft.insights/components":
            key = old_props.get("InstrumentationKey") or str(uuid.uuid4())
            props["InstrumentationKey"] = key
            props["ConnectionString"] = (
                f"InstrumentationKey={key};IngestionEndpoint=https://{res.get('location')}.in.applicationinsights.azure.com/"
            )
            props["provisioningState"] = "Succeeded"
        elif rtype == "microsoft.documentdb/databaseaccounts":
            # read-only endpoint ARM returns (the standard agent setup's connection targets it)
            props["documentEndpoint"] = f"https://{name}.documents.azure.com:443/"
        elif rtype == "microsoft.storage/storageaccounts":
            props["primaryEndpoints"] = {
                kind: f"https://{name}.{kind}.core.windows.net/" for kind in ("blob", "queue", "table", "file", "dfs")
            }
        elif rtype == "microsoft.operationalinsights/workspaces":
            props["customerId"] = old_props.get("customerId") or str(uuid.uuid4())
        elif rtype in _HOSTING_READ_ONLY:
            _HOSTING_READ_ONLY[rtype](self, res, props, old_props, name)
        elif rtype == "microsoft.resources/resourcegroups":
            props["provisioningState"] = "Succeeded"
        props.setdefault("provisioningState", "Succeeded")
        res["properties"] = props
        return res

    def _system_identity(
        self, identity: dict[str, Any] | None, existing: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        if not identity or "SystemAssigned" not in identity.get("type", ""):
            return identity
        old = (existing or {}).get("identity") or {}
        principal = old.get("principalId") or str(uuid.uuid4())
        self.directory.add(principal)
        return {**identity, "principalId": principal, "tenantId": TENANT}

    def _check_deployment(self, path: str, body: dict[str, Any], existing: dict[str, Any] | None) -> None:
        account = self.resources["/".join(path.split("/")[:9]).lower()]
        location = account.get("location", "")
        model = body["properties"]["model"]
        sku = body["sku"]["name"]
        offers = [
            o
            for o in self.offers.get(location, [])
            if (o.name, o.version, o.format) == (model["name"], model["version"], model["format"])
        ]
        if not offers or sku not in offers[0].skus:
            raise ArmHttpError(
                400,
                "DeploymentModelNotSupported",
                f"model {model['format']}/{model['name']}/{model['version']} with SKU {sku} "
                f"is not offered in {location}",
            )
        usage = f"OpenAI.{sku}.{model['name']}"
        limit = self.quota.get((location, usage), self.quota_limit)
        used = self._used(location, usage, exclude=path.lower())
        capacity = int(body["sku"].get("capacity") or 0)
        if used + capacity > limit:
            raise ArmHttpError(
                400,
                "InsufficientQuota",
                f"This operation require {capacity} new capacity in quota {usage}, which is bigger than the current "
                f"available capacity {limit - used}. The current quota usage is {used} and the quota limit is {limit}.",
            )

    def _used(self, location: str, usage: str, exclude: str | None = None) -> int:
        total = 0
        for rid, res in self.resources.items():
            if res["type"] != "Microsoft.CognitiveServices/accounts/deployments" or rid == exclude:
                continue
            account = self.resources.get("/".join(rid.split("/")[:9]))
            if account is None or account.get("location") != location:
                continue
            model = res["properties"]["model"]
            if f"OpenAI.{res['sku']['name']}.{model['name']}" == usage:
                total += int(res["sku"].get("capacity") or 0)
        return total

    def _cognitive_location(
        self, method: str, path: str, rest: str, api_version: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(api_version, COGNITIVE_API)
        location, _, tail = rest.partition("/")
        if tail == "models":
            items = []
            for o in self.offers.get(location, []):
                model: dict[str, Any] = {
                    "format": o.format,
                    "name": o.name,
                    "version": o.version,
                    "lifecycleStatus": o.lifecycle,
                    "skus": [
                        {"name": s, "usageName": o.usage_names.get(s, f"OpenAI.{s}.{o.name}"),
                         "capacity": {"maximum": 10000}}
                        for s in o.skus
                    ],
                }
                if o.deprecation:
                    model["deprecation"] = {"inference": o.deprecation}
                # Model capabilities as ARM lists them ({"maxContextToken": "128000", ...}); set by the live
                # catalog tests (scaffolder models --live) through `model_capabilities`, keyed by model name.
                if o.name in self.model_capabilities:
                    model["capabilities"] = dict(self.model_capabilities[o.name])
                items.append({"kind": "AIServices", "skuName": "S0", "model": model})
            return 200, {"value": items}, {}
        if tail == "usages":
            names = {f"OpenAI.{s}.{o.name}" for o in self.offers.get(location, []) for s in o.skus}
            names |= {u for (loc, u) in self.quota if loc == location}
            value = [
                {
                    "name": {"value": n, "localizedValue": n},
                    "currentValue": self._used(location, n),
                    "limit": self.quota.get((location, n), self.quota_limit),
                    "unit": "Count",
                }
                for n in sorted(names)
            ]
            return 200, {"value": value}, {}
        m = re.fullmatch(r"resourcegroups/([^/]+)/deletedaccounts/([^/]+)", tail)
        if m:
            name = path.split("/")[-1]
            deleted = self.deleted_accounts.get(name.lower())
            if deleted is None:
                raise ArmHttpError(404, "ResourceNotFound", f"no soft-deleted account {name}")
            if method == "GET":
                return 200, self._public(deleted), {}
            if method == "DELETE":
                del self.deleted_accounts[name.lower()]
                op = self._start_op(None, "purge")
                return 202, None, self._lro_headers(op, location_style=True)
        raise ArmHttpError(404, "NotFound", f"no route for {method} {path}")

    def _role_assignment(
        self, method: str, scope: str, name: str | None, query: dict[str, str], api_version: str | None, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(api_version, AUTHZ_API)
        scope_low = scope.lower()
        if scope_low not in self.resources:
            raise ArmHttpError(404, "ResourceNotFound", f"scope {scope} not found")
        assignments = [r for r in self.resources.values() if r["type"] == "Microsoft.Authorization/roleAssignments"]
        if name is None:
            if method != "GET":
                raise ArmHttpError(405, "MethodNotAllowed", method)
            wanted = None
            m = re.search(r"principalId eq '([^']+)'", query.get("$filter", ""))
            if m:
                wanted = m.group(1)
            # list_for_scope also returns assignments inherited from parent scopes
            found = [
                self._public(r)
                for r in assignments
                if scope_low.startswith(r["properties"]["scope"].lower())
                and (wanted is None or r["properties"]["principalId"] == wanted)
            ]
            return 200, {"value": found}, {}
        rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        existing = self.resources.get(rid.lower())
        if method == "GET":
            if existing is None:
                raise ArmHttpError(404, "RoleAssignmentNotFound", f"role assignment {name} not found")
            return 200, self._public(existing), {}
        if method == "DELETE":
            if existing is None:
                return 204, None, {}
            del self.resources[rid.lower()]
            return 200, self._public(existing), {}
        if method != "PUT":
            raise ArmHttpError(405, "MethodNotAllowed", method)
        try:
            uuid.UUID(name)
        except ValueError:
            raise ArmHttpError(400, "InvalidRoleAssignmentId", f"{name} is not a GUID") from None
        self._validate("microsoft.authorization/roleassignments", AUTHZ_API, body)
        props = body["properties"]
        if props["principalId"] not in self.directory:
            raise ArmHttpError(
                400, "PrincipalNotFound", f"Principal {props['principalId']} does not exist in the directory {TENANT}."
            )
        same = [
            r
            for r in assignments
            if r["properties"]["scope"].lower() == scope_low
            and r["properties"]["principalId"] == props["principalId"]
            and r["properties"]["roleDefinitionId"].lower() == props["roleDefinitionId"].lower()
        ]
        if existing is None and same:
            raise ArmHttpError(409, "RoleAssignmentExists", "The role assignment already exists.")
        if existing is not None:
            old = existing["properties"]
            if (old["principalId"], old["roleDefinitionId"]) != (props["principalId"], props["roleDefinitionId"]):
                raise ArmHttpError(
                    409,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                )
        res = {
            "id": rid,
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {**props, "scope": scope},
        }
        self.resources[rid.lower()] = res
        return (200 if existing else 201), self._public(res), {}


# -- read-only properties ARM fills for the hosting types --------------------------------------------------
# Which properties are read-only comes from Bicep's type data (flag 2) for the pinned versions
# (microsoft.containerregistry/2025-04-01, microsoft.app/2025-07-01 in ../shared/bicep-types); the value shapes
# follow the azure-rest-api-specs examples for those versions (Microsoft.App/ContainerApps/stable/2025-07-01/
# examples/ManagedEnvironments_CreateOrUpdate.json and ContainerApps_CreateOrUpdate.json) and the registry
# quickstart's `az acr create` output (learn.microsoft.com/azure/container-registry/
# container-registry-get-started-azure-cli: "loginServer": "myregistry.azurecr.io", sku tier filled).
# Values a resource already has stay as they are on a re-PUT, as ARM keeps them.


def _user_identities(arm: ArmEmulator, res: dict[str, Any]) -> None:
    """ARM answers each user-assigned identity with its principalId and clientId (read-only in the type data)."""
    identity = res.get("identity")
    if not identity:
        return
    if "UserAssigned" in str(identity.get("type")) and not identity.get("userAssignedIdentities"):
        # ARM refuses a UserAssigned identity that names none (the code and wording here are the emulator's)
        raise ArmHttpError(400, "InvalidIdentity", "identity type UserAssigned names no user-assigned identity")
    if not identity.get("userAssignedIdentities"):
        return
    filled: dict[str, Any] = {}
    for rid in identity["userAssignedIdentities"]:
        found = arm.resources.get(rid.lower())
        if found is None:
            # the code and wording are the emulator's: ARM refuses an identity that does not exist
            raise ArmHttpError(400, "InvalidUserAssignedIdentity", f"user-assigned identity {rid} was not found")
        filled[rid] = {"principalId": found["properties"]["principalId"], "clientId": found["properties"]["clientId"]}
    res["identity"] = {**identity, "userAssignedIdentities": filled}


def _registry(arm: ArmEmulator, res: dict[str, Any], props: dict[str, Any], old: dict[str, Any], name: str) -> None:
    # loginServer is the lowercased registry name under azurecr.io (registry names are 5-50 alphanumerics).
    props["loginServer"] = old.get("loginServer") or f"{name.lower()}.azurecr.io"
    props["creationDate"] = old.get("creationDate") or "2026-11-29T12:00:00.0000000Z"
    if isinstance(res.get("sku"), dict) and "name" in res["sku"]:
        res["sku"]["tier"] = res["sku"]["name"]  # sku.tier is read-only: the tier of the named SKU


def _environment(arm: ArmEmulator, res: dict[str, Any], props: dict[str, Any], old: dict[str, Any], name: str) -> None:
    # ARM gives every environment a unique domain under <region>.azurecontainerapps.io and a public static IP
    # (here from TEST-NET-3, RFC 5737, so it can never be mistaken for a real address).
    unique = uuid.uuid4().hex[:8]
    domain = f"{name.lower()}-{unique}.{res.get('location')}.azurecontainerapps.io"
    props["defaultDomain"] = old.get("defaultDomain") or domain
    props["staticIp"] = old.get("staticIp") or f"203.0.113.{int(unique[:2], 16) % 254 + 1}"


def _container_app(
    arm: ArmEmulator, res: dict[str, Any], props: dict[str, Any], old: dict[str, Any], name: str
) -> None:
    env_id = str(props.get("environmentId") or props.get("managedEnvironmentId") or "")
    environment = arm.resources.get(env_id.lower())
    if environment is None:
        raise ArmHttpError(404, "ResourceNotFound", f"managed environment {env_id} was not found")
    _user_identities(arm, res)
    domain = environment["properties"]["defaultDomain"]
    # Every PUT makes a new revision <app>--<suffix> (learn.microsoft.com/azure/container-apps/revisions);
    # the app's own FQDN stays <app>.<environment domain>, the revision's adds the suffix.
    revision = f"{name}--{uuid.uuid4().hex[:7]}"
    props["managedEnvironmentId"] = env_id
    props["latestRevisionName"] = props["latestReadyRevisionName"] = revision
    props["latestRevisionFqdn"] = f"{revision}.{domain}"
    props["runningStatus"] = "Running"
    props["outboundIpAddresses"] = [environment["properties"]["staticIp"]]
    props["customDomainVerificationId"] = old.get("customDomainVerificationId") or uuid.uuid4().hex.upper()
    # a copy: the request body as sent stays in the request log untouched
    props["configuration"] = json.loads(json.dumps(props.get("configuration") or {}))
    ingress = props["configuration"].get("ingress")
    if isinstance(ingress, dict):
        ingress["fqdn"] = f"{name}.{domain}"


_HOSTING_READ_ONLY: dict[str, Callable[[ArmEmulator, dict[str, Any], dict[str, Any], dict[str, Any], str], None]] = {
    "microsoft.containerregistry/registries": _registry,
    "microsoft.app/managedenvironments": _environment,
    "microsoft.app/containerapps": _container_app,
}


def _additional(model: Any, path: str = "") -> list[str]:
    """Unknown properties the msrest deserializer parked in additional_properties, anywhere in the tree."""
    found: list[str] = []
    extra = getattr(model, "additional_properties", None)
    if extra:
        found += [f"{path}{k}" for k in extra]
    attr_map = getattr(model, "_attribute_map", None)
    if attr_map:
        for attr in attr_map:
            if attr == "additional_properties":
                continue
            value = getattr(model, attr, None)
            if isinstance(value, list):
                for i, v in enumerate(value):
                    found += _additional(v, f"{path}{attr}[{i}].")
            elif hasattr(value, "_attribute_map"):
                found += _additional(value, f"{path}{attr}.")
    return found


def _type_of(path: str) -> str | None:
    low = path.lower()
    if "/providers/microsoft.authorization/roleassignments" in low:
        return "microsoft.authorization/roleassignments"
    if re.search(r"/providers/microsoft\.insights/diagnosticsettings/[^/]+$", low):
        # an extension resource on any scope (issue-14: the Container Apps environment's logs), like role assignments
        return "microsoft.insights/diagnosticsettings"
    m = re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/([^/]+)((?:/[^/]+/[^/]+)+)", low)
    if m:
        return m.group(1) + "".join("/" + seg for seg in m.group(2).strip("/").split("/")[::2])
    if re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/[^/]+", low):
        return "microsoft.resources/resourcegroups"
    return None


def _canonical_type(path: str) -> str:
    """The resource type of a resource path, spelled as in the path (namespace/type[/child...])."""
    parts = path.strip("/").split("/")
    rest = parts[parts.index("providers") + 1 :] if "providers" in parts else []
    return rest[0] + "".join("/" + seg for seg in rest[1::2])


class _Handler(BaseHTTPRequestHandler):
    arm: ArmEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, doc, extra = self.arm.handle(method, self.path, headers, body)
        except DropConnection:
            self.close_connection = True
            self.connection.close()
            return
        except MalformedAnswer:
            page = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        except ArmHttpError as err:
            status, doc, extra = err.status, {"error": {"code": err.code, "message": err.message}}, err.headers
        with self.arm.lock:
            self.arm.responses.append((method, self.path.split("?")[0], status))
        payload = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")
