"""Public provisioning API: `provision`, `preflight` and `destroy` return result objects; the CLI renders them."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaffolder.catalog import normalize_region
from scaffolder.errors import PreflightError, ProvisionError, ProvisionInterrupted, SpecError
from scaffolder.provisioning import registry
from scaffolder.provisioning.arm import Arm, Connection, arm_endpoint_for, token_object_id
from scaffolder.provisioning.engine import Change, Engine, Event, Workers
from scaffolder.provisioning.faults import DEFAULT_TIMEOUT, Control, RetryPolicy, with_retries
from scaffolder.provisioning.plan import (
    RESOURCE_GROUP,
    RG_TYPE,
    PlannedResource,
    ResourcePlan,
    Target,
    plan_from_bicep,
    resource_group_resource,
)
from scaffolder.provisioning.preflight import ACCOUNT_TYPE, PreflightResult, run_checks
from scaffolder.spec import ProjectSpec, load_answers
from scaffolder.standards import LoadedStandards, enforce

if TYPE_CHECKING:  # a Protocol: azure-identity's credentials and the tests' fakes satisfy it
    from azure.core.credentials import AccessToken, TokenCredential

Confirm = Callable[[list[Change]], bool]
Waiting = Callable[[str, float], None]
# Output names whose values are credentials or carry one: written to .azure/<env>/.env (as azd does) but
# never printed by --json.
SECRET_OUTPUT = re.compile(r"CONNECTION_STRING|KEY|SECRET|PASSWORD|TOKEN", re.IGNORECASE)
# Values that carry a credential whatever the output is called: storage/Service Bus/Event Hubs connection
# strings, SQL/ADO passwords, SAS tokens and Application Insights connection strings.
SECRET_VALUE = re.compile(
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature|Password=|Pwd=|[?&]sig=|InstrumentationKey=",
    re.IGNORECASE,
)


def is_secret(name: str, value: str, secret_values: frozenset[str] = frozenset()) -> bool:
    """Whether an output must not be shown: by name, by the look of its value, or carrying a secure param."""
    return bool(
        SECRET_OUTPUT.search(name) or SECRET_VALUE.search(value) or any(v in value for v in secret_values)
    )


@dataclass
class ProvisionResult:
    """What provision() found and did: the plan's changes, whether it applied them, and the outputs."""

    target: Target
    changes: list[Change]
    applied: bool
    preflight: PreflightResult | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    env_file: Path | None = None
    purged: bool = False
    # Resources of this environment (azd-env-name tag) in the group that infra/ no longer declares:
    # reported by --preview, never deleted.
    removed: list[str] = field(default_factory=list)
    # `@secure()` outputs: ARM keeps no value for them, so they are neither returned nor written to .env.
    secure_outputs: frozenset[str] = frozenset()
    secret_values: frozenset[str] = frozenset()

    def shown_outputs(self) -> dict[str, str]:
        """The outputs safe to print: endpoints and names, never a credential."""
        return {k: v for k, v in self.outputs.items() if not is_secret(k, v, self.secret_values)}

    @property
    def writes(self) -> int:
        """Resources created or updated."""
        return sum(1 for c in self.changes if c.action != "unchanged") if self.applied else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON form: outputs hold endpoints and names; connection strings and keys are left out."""
        shown = self.shown_outputs()
        return {
            "subscription_id": self.target.subscription_id,
            "resource_group": self.target.resource_group,
            "location": self.target.location,
            "environment": self.target.environment,
            "applied": self.applied,
            "changes": [c.as_dict() for c in self.changes],
            "removed": self.removed,
            "preflight": self.preflight.as_dict() if self.preflight else None,
            "outputs": shown,
            "outputs_withheld": sorted((set(self.outputs) - set(shown)) | self.secure_outputs),
            "env_file": str(self.env_file) if self.env_file else None,
        }


@dataclass
class DestroyResult:
    """What destroy() deleted (or would delete with --preview), and whether it purged the account."""

    target: Target
    deleted: list[str]
    applied: bool
    purged: bool = False
    resource_group_deleted: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "resource_group": self.target.resource_group,
            "environment": self.target.environment,
            "applied": self.applied,
            "deleted": self.deleted,
            "purged": self.purged,
            "resource_group_deleted": self.resource_group_deleted,
        }


class _TenantCredential:
    """Asks the wrapped credential for tokens of one tenant (DefaultAzureCredential takes no tenant_id)."""

    def __init__(self, inner: TokenCredential, tenant_id: str) -> None:
        self.inner = inner
        self.tenant_id = tenant_id

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        kwargs.setdefault("tenant_id", self.tenant_id)
        return self.inner.get_token(*scopes, **kwargs)


def default_credential(authority: str, tenant_id: str | None) -> TokenCredential:
    """DefaultAzureCredential for the cloud's authority, pinned to a tenant when one is given."""
    from azure.identity import DefaultAzureCredential

    if not tenant_id:
        return DefaultAzureCredential(authority=authority)
    cred = DefaultAzureCredential(
        authority=authority,
        additionally_allowed_tenants=[tenant_id],
        interactive_browser_tenant_id=tenant_id,
        workload_identity_tenant_id=tenant_id,
        shared_cache_tenant_id=tenant_id,
        visual_studio_code_tenant_id=tenant_id,
    )
    return _TenantCredential(cred, tenant_id)


@dataclass(frozen=True)
class ArmOptions:
    """The options every ARM command shares, built once (by the CLI, or by a library caller)."""

    subscription_id: str = ""
    resource_group: str = ""
    location: str | None = None
    environment: str = "dev"
    credential: TokenCredential | None = None
    tenant_id: str | None = None
    cloud: str = "AzureCloud"
    arm_endpoint: str | None = None
    principal_id: str | None = None
    principal_type: str | None = None
    retry: RetryPolicy | None = None
    connection_verify: str | bool | None = None
    polling_interval: float | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    on_wait: Waiting | None = None


@dataclass
class _Session:
    spec: ProjectSpec
    plan: ResourcePlan
    arm: Arm
    engine: Engine
    retry: RetryPolicy
    control: Control

    def call(self, call: Callable[[], Any], what: str) -> Any:
        """An ARM call with this session's retries, deadline and Ctrl-C handling; `what` names it in errors."""
        return with_retries(call, self.retry, what, self.control)


def open_arm(
    subscription_id: str,
    *,
    cloud: str = "AzureCloud",
    arm_endpoint: str | None = None,
    credential: TokenCredential | None = None,
    tenant_id: str | None = None,
    connection_verify: str | bool | None = None,
    polling_interval: float = 0,
) -> Connection:
    """The ARM connection of provisioning and `models --live`: cloud endpoint, credential, quiet azure logging."""
    # Without any logging set up, Python's last-resort handler would print azure-identity's multi-line
    # credential-chain warnings; a NullHandler stops that and still lets records reach configured handlers.
    azure_logger = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in azure_logger.handlers):
        azure_logger.addHandler(logging.NullHandler())
    endpoint, authority = arm_endpoint_for(cloud, arm_endpoint)
    cred = credential if credential is not None else default_credential(authority, tenant_id)
    return Connection(credential=cred, subscription_id=subscription_id, arm_endpoint=endpoint,
                      connection_verify=connection_verify, polling_interval=polling_interval)


def _open(
    directory: Path | str,
    opts: ArmOptions,
    *,
    restore: bool = False,
    on_event: Callable[[Event], None] | None = None,
    destroying: bool = False,
) -> _Session:
    subscription_id, resource_group, timeout = opts.subscription_id, opts.resource_group, opts.timeout
    for value, what, flag, var in ((subscription_id, "subscription", "--subscription", "AZURE_SUBSCRIPTION_ID"),
                                   (resource_group, "resource group", "--resource-group", "AZURE_RESOURCE_GROUP")):
        if not value:
            raise SpecError(f"no {what} given", hint=f"pass {flag} or set {var}")
    if timeout is not None and timeout <= 0:
        raise SpecError(f"--timeout {timeout:g} must be a positive number of seconds", hint="e.g. --timeout 3600")
    check_environment_name(opts.environment)
    spec, _ = load_answers(Path(directory))
    conn = open_arm(
        subscription_id,
        cloud=opts.cloud,
        arm_endpoint=opts.arm_endpoint,
        credential=opts.credential,
        tenant_id=opts.tenant_id,
        connection_verify=opts.connection_verify,
        polling_interval=_poll_interval() if opts.polling_interval is None else opts.polling_interval,
    )
    cred = conn.credential
    principal_id = opts.principal_id
    if principal_id is None:
        principal_id = _caller_object_id(cred, conn.scopes) or ""
    target = Target(
        subscription_id=subscription_id,
        resource_group=resource_group,
        location=normalize_region(opts.location or spec.location),
        environment=opts.environment,
        principal_id=principal_id,
        principal_type=opts.principal_type or spec.principal_type,
        restore=restore,
        saved_env=tuple(sorted(read_env_file(Path(directory), opts.environment).items())),
    )
    # Evaluated before any request, so an unsupported construct or a bad parameter writes (and reads) nothing.
    plan = plan_from_bicep(directory, target, destroying=destroying)
    control = Control(timeout=timeout, on_wait=opts.on_wait)
    arm = Arm(conn, control)
    policy = opts.retry or RetryPolicy()
    group = resource_group_resource(target)
    group_state = with_retries(
        lambda: arm.get(group, target.resource_group), policy, f"reading {RESOURCE_GROUP}", control
    )
    if group_state is not None:
        where = normalize_region(str(group_state.get("location", "")))
        if where and where != target.location:
            # resourceGroup().location is the existing group's location, as in ARM and azd.
            plan = plan_from_bicep(directory, target, where, destroying=destroying)
    engine = Engine(plan, arm, retry=policy, on_event=on_event, control=control)
    engine.prefetched[RESOURCE_GROUP] = group_state
    engine.sent = load_sent(Path(directory), target)
    return _Session(spec, plan, arm, engine, policy, control)


# azd's environment-name rule; the name becomes a path (.azure/<env>/) and part of resource names.
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._()-]{0,63}$")


def check_environment_name(name: str) -> str:
    """Refuse environment names azd would refuse (and any that could leave .azure/)."""
    if not _ENV_NAME.fullmatch(name) or ".." in name:
        raise SpecError(
            f"environment name {name!r} must be 1-64 letters, digits, '.', '_', '(', ')' or '-', "
            "start with a letter or digit, and not contain '..'",
            hint="use --env (or AZURE_ENV_NAME), e.g. --env dev",
        )
    return name


POLL_INTERVAL_ENV = "SCAFFOLDER_POLL_INTERVAL"


def _poll_interval() -> float:
    """Seconds between polls of a long-running operation when ARM sends no Retry-After (env override)."""
    raw = os.environ.get(POLL_INTERVAL_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else 5.0
    except ValueError:
        raise ProvisionError(f"{POLL_INTERVAL_ENV}={raw!r} is not a number of seconds") from None


def _caller_object_id(credential: TokenCredential, scopes: list[str]) -> str | None:
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return token_object_id(credential, scopes)
    except ClientAuthenticationError as exc:
        from scaffolder.provisioning.credentials import credential_error

        raise credential_error(str(exc) or type(exc).__name__) from None


@contextlib.contextmanager
def _interruptible(session: _Session, message: str, hint: str = "") -> Iterator[None]:
    """Ctrl-C inside the block stops every worker and becomes one ProvisionInterrupted line."""
    try:
        yield
    except KeyboardInterrupt:
        session.control.cancelled.set()
        raise ProvisionInterrupted(message, hint=hint or None) from None


def _survey(session: _Session) -> list[Change]:
    with _interruptible(session, "stopped by user while reading; nothing was written",
                        "re-run the same command to start again"):
        return session.engine.survey()


def _checks(
    session: _Session, changes: list[Change], *, restore: bool, purge: bool, today: dt.date | None
) -> PreflightResult:
    with _interruptible(session, "stopped by user during preflight; nothing was written"):
        return run_checks(session.spec, session.plan, session.arm, changes, retry=session.retry,
                          control=session.control, restore=restore, purge=purge, today=today)


class Provisioner:
    """One repo and one set of ARM options (built once): `preflight`, `plan` (the preview), `apply`, `destroy`.

    Every method reads the repo's infra/ again and opens its own session, so one Provisioner serves several
    commands in a row (plan, then apply) and always acts on what the Bicep says now.
    """

    def __init__(self, directory: Path | str, options: ArmOptions) -> None:
        self.directory = Path(directory)
        self.options = options

    def preflight(self, *, restore: bool = False, purge: bool = False, today: dt.date | None = None) -> PreflightResult:
        """The read-only checks (region, models, quota, soft delete, permissions); never writes."""
        session = _open(self.directory, self.options, restore=restore)
        return _checks(session, _survey(session), restore=restore, purge=purge, today=today)

    def plan(
        self,
        *,
        restore: bool = False,
        purge: bool = False,
        skip_preflight: bool = False,
        today: dt.date | None = None,
        standards: LoadedStandards | None = None,
    ) -> ProvisionResult:
        """What apply would write (changes, preflight) and what infra/ no longer declares; writes nothing."""
        session, result = self._read(restore, purge, skip_preflight, today, standards, None)
        result.removed = _removed(session, result.changes)
        return result

    def apply(
        self,
        *,
        restore: bool = False,
        purge: bool = False,
        confirm: Confirm | None = None,
        on_event: Callable[[Event], None] | None = None,
        skip_preflight: bool = False,
        today: dt.date | None = None,
        standards: LoadedStandards | None = None,
    ) -> ProvisionResult:
        """Plan, `confirm(changes)`, then write the creates/updates in dependency order and the outputs' .env."""
        session, result = self._read(restore, purge, skip_preflight, today, standards, on_event)
        changes, checks, directory = result.changes, result.preflight, self.directory
        pending = [c for c in changes if c.action != "unchanged"]
        if pending and confirm is not None and not confirm(changes):
            raise ProvisionError("cancelled; nothing was written", hint="--yes skips the question")
        if purge and checks is not None and checks.soft_deleted is not None:
            _purge(session, checks.soft_deleted, self.options.resource_group)
            result.purged = True
        try:
            states = session.engine.apply(changes) if pending else dict(session.engine.states)
        except KeyboardInterrupt:
            session.control.cancelled.set()
            written = sum(1 for c in pending if c.key in session.engine.states and c.key not in _before(changes))
            raise ProvisionInterrupted(
                f"stopped by user: {written} of {len(pending)} resource writes finished and are kept; "
                "a write in flight may still complete in Azure",
                hint="re-run the same command to finish: it reads what exists and writes only what is missing",
            ) from None
        finally:
            save_sent(directory, session.plan.target, session.engine.sent)  # what did get written
        result.applied = True
        # The applied result names what was written: run-time names (role assignments) resolved, ids included.
        result.changes = [
            dataclasses.replace(c, name=str(states[c.key].get("name") or c.name), id=states[c.key].get("id"))
            if isinstance(states.get(c.key), Mapping)
            else c
            for c in changes
        ]
        result.outputs = outputs(session.plan, states)
        result.secure_outputs = session.plan.secure_outputs
        result.secret_values = session.plan.secret_values
        result.env_file = write_env_file(directory, session.plan.target, result.outputs)
        return result

    def destroy(
        self,
        *,
        purge: bool = False,
        preview: bool = False,
        confirm: Callable[[list[str]], bool] | None = None,
    ) -> DestroyResult:
        """Delete the plan's resources in reverse dependency order; `purge` also frees the account names.

        The resource group goes too when it is left empty and carries this environment's azd-env-name tag.
        """
        session = _open(self.directory, dataclasses.replace(self.options, principal_type=None), destroying=True)
        plan, arm = session.plan, session.arm
        changes = _survey(session)
        readonly = {r.key for r in plan.resources if r.read_only}
        present = [
            c for c in changes if c.state is not None and c.key != RESOURCE_GROUP and c.name and c.key not in readonly
        ]
        labels = [f"{c.type.split('/')[-1]}/{c.name}" for c in present]
        result = DestroyResult(plan.target, labels, applied=False)
        rg_change = next(c for c in changes if c.key == RESOURCE_GROUP)
        if preview or (not present and not purge):
            return result
        if confirm is not None and not confirm(labels):
            raise ProvisionError("cancelled; nothing was deleted", hint="--yes skips the question")

        levels = plan.levels()
        # `present` holds only resources with a name, so every key here has one.
        name_of = {c.key: c.name for c in present if c.name}

        def remove(key: str) -> None:
            res, name = plan.get(key), name_of[key]
            session.call(lambda: arm.delete(res, name), f"deleting {key} ({name})")

        with Workers(8) as pool, _interruptible(session, "stopped by user while deleting; what was deleted stays "
                                                "deleted", "re-run the same command to delete the rest"):
            for level in sorted(set(levels.values()), reverse=True):
                pool.map(remove, [k for k in name_of if levels[k] == level])
        result.applied = True
        if (
            rg_change.state is not None
            and (rg_change.state.get("tags") or {}).get("azd-env-name") == plan.target.environment
        ):
            left = session.call(lambda: arm.resources_in_group(plan.target.resource_group), "listing the group")
            if not left:
                group = plan.get(RESOURCE_GROUP)
                session.call(lambda: arm.delete(group, plan.target.resource_group), "deleting the resource group")
                result.resource_group_deleted = True
        if purge:
            names = {str(r.name).lower() for r in plan.of_type(ACCOUNT_TYPE)}
            listed = session.call(lambda: list(arm.deleted_accounts()), "listing soft-deleted accounts")
            for found in [d for d in listed if str(d.get("name", "")).lower() in names]:
                _purge(session, found, plan.target.resource_group)
                result.purged = True
        return result

    def _read(
        self,
        restore: bool,
        purge: bool,
        skip_preflight: bool,
        today: dt.date | None,
        standards: LoadedStandards | None,
        on_event: Callable[[Event], None] | None,
    ) -> tuple[_Session, ProvisionResult]:
        """Standards, then the plan against what exists, then preflight (raising on its first failure)."""
        if restore and purge:
            raise SpecError("--restore and --purge exclude each other", hint="restore recovers, purge deletes")
        opts = self.options
        if standards is not None:
            spec, _ = load_answers(self.directory)
            region = normalize_region(opts.location) if opts.location else spec.location
            enforce(spec.model_copy(update={"location": region}), standards)
        session = _open(self.directory, opts, restore=restore, on_event=on_event)
        with _interruptible(session, "stopped by user while reading; nothing was written"):
            check_api_versions(session)
        changes = _survey(session)
        checks = None if skip_preflight else _checks(session, changes, restore=restore, purge=purge, today=today)
        if checks is not None and not checks.ok:
            first = checks.failures[0]
            more = f" (and {len(checks.failures) - 1} more)" if len(checks.failures) > 1 else ""
            raise PreflightError(f"preflight: {first.message}{more}", hint=first.fix or None, code=first.name)
        return session, ProvisionResult(session.plan.target, changes, applied=False, preflight=checks)

def check_api_versions(session: _Session) -> None:
    """Refuse a type or API version its resource provider does not offer, before any write (as ARM's validation).

    One read of each provider namespace the plan uses (GET /subscriptions/{id}/providers/{namespace}).
    """
    by_namespace: dict[str, list[PlannedResource]] = {}
    for res in session.plan.resources:
        if res.type.lower() != RG_TYPE.lower():
            by_namespace.setdefault(res.type.split("/", 1)[0].lower(), []).append(res)
    for namespace, planned in sorted(by_namespace.items()):
        doc = session.call(functools.partial(session.arm.provider, planned[0].type.split("/", 1)[0]),
                           f"reading provider {namespace}")
        offered = {
            str(t.get("resourceType", "")).lower(): [str(v) for v in t.get("apiVersions") or ()]
            for t in (doc or {}).get("resourceTypes") or ()
        }
        for res in planned:
            versions = offered.get(res.type.split("/", 1)[1].lower())
            if versions is None:
                raise ProvisionError(
                    f"{res.where or res.key}: ARM has no resource type {res.type}; nothing was written",
                    hint="check the type's spelling (and that its provider exists in this cloud)",
                    code="NoRegisteredProviderFound",
                )
            if res.api_version.lower() not in {v.lower() for v in versions}:
                newest = ", ".join(versions[:3])
                raise ProvisionError(
                    f"{res.where or res.key}: {res.type}@{res.api_version} is not an API version ARM offers; "
                    "nothing was written",
                    hint=f"use one it offers, e.g. {newest}",
                    code="InvalidApiVersionParameter",
                )


def _removed(session: _Session, changes: list[Change]) -> list[str]:
    """Ids of this environment's resources that the plan no longer declares.

    Those tagged with the environment in the group, and children (a project's connection, an account's
    deployment) under a planned parent that exists.
    """
    plan = session.plan
    rg = next((c for c in changes if c.key == RESOURCE_GROUP), None)
    if rg is None or rg.state is None:
        return []
    planned = {plan.get(c.key).id_for(c.name).lower() for c in changes if c.name}
    group = plan.target.resource_group
    listed = session.call(lambda: session.arm.resources_in_group(group), "listing the resource group")
    found = {
        str(r.get("id"))
        for r in listed
        if (r.get("tags") or {}).get("azd-env-name") == plan.target.environment
    }
    # Children carry no azd tag; they are ours when their parent is one this plan writes. Their types are the
    # registry's children of the parent's type plus any child type the plan itself declares.
    for change in changes:
        res = plan.get(change.key)
        if change.state is None or not change.name or res.read_only or res.adopt_existing or res.extension:
            continue
        parent_id = res.id_for(change.name)
        known = [(t.type, t.api_version) for t in registry.resource_types().values()]
        known += [(r.type, r.api_version) for r in plan.resources if r.parent_key == res.key]
        kinds = dict((t.lower(), v) for t, v in known if t.lower().rsplit("/", 1)[0] == res.type.lower())
        for kind, version in sorted(kinds.items()):
            listing = functools.partial(session.arm.children, parent_id, kind, version)
            found.update(str(r.get("id")) for r in session.call(listing, f"listing {kind} under {change.name}"))
    found.update(_removed_grants(session, changes))
    planned |= {str(c.state.get("id", "")).lower() for c in changes if c.state is not None}
    return sorted(i for i in found if i.lower() not in planned)


def _removed_grants(session: _Session, changes: list[Change]) -> set[str]:
    """Role assignments to this environment's principals, on a scope it deploys, that the plan no longer makes.

    The principals are the deploying developer, the identities the plan creates (user-assigned or a resource's
    own) and those its assignments name: dropping a grant from the parameters file must show, not go unseen.
    """
    plan = session.plan
    principals = {plan.target.principal_id} - {""}
    scopes = [plan.target.resource_group_id]
    for change in changes:
        state, res = change.state, plan.get(change.key)
        if state is None:
            continue
        props: Mapping[str, Any] = state.get("properties") or {}
        identity: Mapping[str, Any] = state.get("identity") or {}
        if res.type.lower() in ("microsoft.managedidentity/userassignedidentities",
                                "microsoft.authorization/roleassignments"):
            principals.add(str(props.get("principalId") or ""))
        principals.add(str(identity.get("principalId") or ""))
        if not (res.read_only or res.extension or res.adopt_existing) and change.name:
            scopes.append(res.id_for(change.name))
    principals.discard("")
    out: set[str] = set()
    for scope in scopes:
        listing = functools.partial(session.arm.assignments_at, scope)
        for grant in session.call(listing, f"listing role assignments on {scope}"):
            if str(grant.get("properties", {}).get("principalId", "")) in principals:
                out.add(str(grant.get("id")))
    return out


def _before(changes: list[Change]) -> set[str]:
    return {c.key for c in changes if c.state is not None and c.action == "unchanged"}


def _purge(session: _Session, deleted: Mapping[str, Any], fallback_group: str) -> None:
    """Purge a soft-deleted account; its id names the location and resource group it was deleted from."""
    group = str(deleted.get("id", "")).split("/resourceGroups/")[-1].split("/")[0] or fallback_group
    location, name = str(deleted.get("location")), str(deleted.get("name"))
    session.call(lambda: session.arm.purge(location, group, name), f"purging soft-deleted account {name}")


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "" if value is None else str(value)


def outputs(plan: ResourcePlan, states: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """main.bicep's outputs (resolved from what ARM reports) plus the azd environment values, as env vars."""
    target = plan.target
    out = {
        "AZURE_ENV_NAME": target.environment,
        "AZURE_LOCATION": target.location,
        "AZURE_SUBSCRIPTION_ID": target.subscription_id,
        "AZURE_RESOURCE_GROUP": target.resource_group,
    }
    for name, value in plan.outputs.items():
        if name in plan.secure_outputs:
            continue  # ARM returns no value for a @secure() output; azd leaves it out of .env too
        try:
            out[name] = _env_value(plan.resolve(value, states))
        except (KeyError, IndexError, TypeError):
            out[name] = ""  # a runtime value ARM did not report (left empty, as an unset azd value)
    return out


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"n": "\n", "r": "\r"}


def _quote(value: str) -> str:
    # Double-quoted dotenv value, as azd (godotenv) writes them: backslash escapes for \\ " \n \r.
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


def _parse_env(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    # Only "\n" ends a line: values may hold other characters str.splitlines() would split on.
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if not sep or key.strip().startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", lambda m: _UNESCAPES.get(m.group(1), m.group(1)), value[1:-1], flags=re.S)
        out[key.strip()] = value
    return out


SENT_FILE = "provision-state.json"


def load_sent(directory: Path, target: Target) -> dict[str, dict[str, Any]]:
    """What the last run sent and which paths ARM normalised (empty when unknown or unreadable)."""
    path = directory / ".azure" / target.environment / SENT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}  # a cache: without it a re-run compares as before and may write once more
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def save_sent(directory: Path, target: Target, sent: Mapping[str, Mapping[str, Any]]) -> None:
    """Keep body digests and normalised paths (never a body: it may hold a secret) in .azure/<env>/."""
    if not sent:
        return
    env_dir = directory / ".azure" / target.environment
    env_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=env_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(dict(sorted(sent.items())), fh, indent=1, sort_keys=True)
        Path(tmp).replace(env_dir / SENT_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_env_file(directory: Path, environment: str) -> dict[str, str]:
    """The values of `.azure/<env>/.env` (empty when there is none); a link there is refused, never followed."""
    from scaffolder import safeio

    rel = f".azure/{environment}/.env"
    if not (directory / rel).exists():
        return {}
    if safeio.has_link(directory, rel):
        raise ProvisionError(
            f"{directory / rel} or a folder above it is a symbolic link; not reading through it",
            hint="remove the link (azd keeps .azure/ as plain folders), then run provision again",
        )
    try:
        return _parse_env(safeio.read_beneath(directory, rel)[0].decode("utf-8", errors="replace"))
    except (OSError, safeio.UnsafeInputError) as exc:
        raise ProvisionError(f"cannot read {directory / rel}: {safeio.describe(exc)}",
                             hint="make it a regular text file (or remove it), then run provision again") from None


def write_env_file(directory: Path, target: Target, values: Mapping[str, str]) -> Path:
    """Merge values into `.azure/<env>/.env` (azd's layout) atomically, keeping keys set by others."""
    from scaffolder import safeio

    # The repo may come from a pull request: a planted link (.azure, the environment folder, .env or a
    # dangling config.json) would make this read or write a file outside the repo. Refuse, never follow.
    for rel in (f".azure/{target.environment}/.env", ".azure/config.json"):
        if safeio.has_link(directory, rel):
            raise ProvisionError(
                f"{directory / rel} or a folder above it is a symbolic link; not writing through it",
                hint="remove the link (azd keeps .azure/ as plain folders), then run provision again",
            )
    env_dir = directory / ".azure" / target.environment
    env_dir.mkdir(parents=True, exist_ok=True)
    path = env_dir / ".env"
    current: dict[str, str] = {}
    if path.exists():
        try:
            current = _parse_env(safeio.read_beneath(directory, f".azure/{target.environment}/.env")[0]
                                 .decode("utf-8", errors="replace"))
        except (OSError, safeio.UnsafeInputError) as exc:
            raise ProvisionError(f"cannot read {path}: {safeio.describe(exc)}",
                                 hint="make it a regular text file (or remove it), then run provision again") from None
    current.update(values)
    text = "".join(f"{k}={_quote(v)}\n" for k, v in sorted(current.items()))
    fd, tmp = tempfile.mkstemp(prefix=".env.", dir=env_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    config = directory / ".azure" / "config.json"
    if not config.exists():
        # azd reads its default environment from here; keep an existing choice.
        doc = {"version": 1, "defaultEnvironment": target.environment}
        config.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return path
