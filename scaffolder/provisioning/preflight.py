"""Preflight checks, all read-only: region, model availability and retirement, quota, soft delete, permissions.

Each check names the problem and the fix, so a run fails before its first write instead of 20 minutes
into a deployment (pain points 1-5 and 7 in shared/reference/anchors-azd.md).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from scaffolder import catalog
from scaffolder.provisioning import registry
from scaffolder.provisioning.arm import Arm
from scaffolder.provisioning.engine import Change
from scaffolder.provisioning.faults import Control, RetryPolicy, with_retries
from scaffolder.provisioning.plan import RESOURCE_GROUP, ResourcePlan
from scaffolder.spec import ProjectSpec
from scaffolder.spec import today as spec_today

Status = Literal["ok", "warn", "fail", "skip"]
ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"


@dataclass(frozen=True)
class Check:
    """One preflight check: which, how it went, what was found and how to fix it."""

    name: str
    status: Status
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"name": self.name, "status": self.status, "message": self.message, "fix": self.fix}


@dataclass
class PreflightResult:
    """All checks of one run; `ok` is False when any failed."""

    checks: list[Check] = field(default_factory=list)
    soft_deleted: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The failed checks."""
        return [c for c in self.checks if c.status == "fail"]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"ok": self.ok, "checks": [c.as_dict() for c in self.checks]}


@dataclass(frozen=True)
class Context:
    """What every check reads: the spec, the plan, ARM, the survey's changes and the run's options."""

    spec: ProjectSpec
    plan: ResourcePlan
    arm: Arm
    changes: Mapping[str, Change]
    retry: RetryPolicy
    control: Control
    restore: bool
    purge: bool
    today: dt.date

    def read(self, call: Callable[[], Any], what: str) -> Any:
        """One ARM read with the run's retries, deadline and Ctrl-C handling."""
        return with_retries(call, self.retry, what, self.control)

    @property
    def location(self) -> str:
        """The target region."""
        return self.plan.target.location


@dataclass(frozen=True)
class Deployment:
    """A model deployment as the evaluated Bicep declares it."""

    key: str
    name: str
    format: str
    model: str
    version: str
    sku: str
    capacity: int

    @property
    def label(self) -> str:
        """'gpt-5.4-mini 2026-03-17 (GlobalStandard)'."""
        return f"{self.model} {self.version} ({self.sku})"


def deployments(plan: ResourcePlan) -> list[Deployment]:
    """Every model deployment in the plan (names and values from the Bicep, user edits included)."""
    out = []
    for res in plan.of_type(DEPLOYMENT_TYPE):
        body = res.body
        sku = body.get("sku") or {}
        model = (body.get("properties") or {}).get("model") or {}
        out.append(
            Deployment(
                res.key,
                str(res.name),
                str(model.get("format", "")),
                str(model.get("name", "")),
                str(model.get("version", "")),
                str(sku.get("name", "")),
                int(sku.get("capacity") or 0),
            )
        )
    return out


def check_region(ctx: Context, result: PreflightResult) -> None:
    """1. The region offers the runtime."""
    regions = catalog.runtime_regions(ctx.spec.runtime)
    title = catalog.runtimes()[ctx.spec.runtime].title
    if ctx.location in regions:
        result.checks.append(Check("region", "ok", f"{title} is offered in {ctx.location}"))
    else:
        fix = f"use --location with one of: {', '.join(regions)}"
        result.checks.append(Check("region", "fail", f"{title} is not offered in {ctx.location}", fix))


def check_models(ctx: Context, result: PreflightResult) -> None:
    """2. Models, versions and SKUs offered in the region, and their retirement dates; 3. quota."""
    location = ctx.location
    planned = deployments(ctx.plan)
    if not planned:
        return
    offered: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for item in ctx.read(lambda: list(ctx.arm.models(location)), f"listing models in {location}"):
        model = item.get("model") or {}
        offered[(model.get("format", ""), model.get("name", ""), model.get("version", ""))] = model
    usage_names: dict[str, str] = {}
    for dep in planned:
        result.checks.append(_model_check(ctx, dep, offered))
        model = offered.get((dep.format, dep.model, dep.version)) or {}
        skus = {s.get("name"): s for s in model.get("skus") or []}
        if dep.sku in skus:
            usage_names[dep.key] = str(skus[dep.sku].get("usageName") or f"OpenAI.{dep.sku}.{dep.model}")
    if usage_names:
        check_quota(ctx, result, [d for d in planned if d.key in usage_names], usage_names)


def _model_check(ctx: Context, dep: Deployment, offered: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> Check:
    location = ctx.location
    model = offered.get((dep.format, dep.model, dep.version))
    if model is None:
        versions = sorted(v for (f, n, v) in offered if (f, n) == (dep.format, dep.model))
        fix = f"offered versions here: {', '.join(versions)}" if versions else "pick another model or --location"
        return Check("model", "fail", f"{dep.label} is not offered in {location}", fix)
    skus = {s.get("name"): s for s in model.get("skus") or []}
    if dep.sku not in skus:
        fix = f"offered SKUs: {', '.join(sorted(str(s) for s in skus))}"
        return Check("model", "fail", f"{dep.label}: SKU {dep.sku} is not offered in {location}", fix)
    judged, retires, lifecycle = catalog.arm_state(model, ctx.today)  # the one lifecycle rule (new, check, models)
    if judged == "retired":
        return Check(
            "model", "fail", f"{dep.label} was retired on {retires}", "pick a newer version (`scaffolder models`)"
        )
    if judged != "current":
        when = f" on {retires}" if retires else ""
        return Check(
            "model", "warn", f"{dep.label} is {lifecycle or 'retiring'}: inference ends{when}", "plan an upgrade"
        )
    suffix = f" (retires {retires})" if retires else ""
    return Check("model", "ok", f"{dep.label} is offered in {location}{suffix}")


def check_quota(ctx: Context, result: PreflightResult, planned: list[Deployment], usage_names: dict[str, str]) -> None:
    """3. Quota per model + SKU, counting capacity this plan already holds."""
    location = ctx.location
    usages = {
        str((u.get("name") or {}).get("value")): u
        for u in ctx.read(lambda: list(ctx.arm.usages(location)), f"listing quota in {location}")
    }
    needed: dict[str, list[Deployment]] = {}
    for dep in planned:
        needed.setdefault(usage_names[dep.key], []).append(dep)
    for usage, deps in needed.items():
        held = 0
        for dep in deps:
            change = ctx.changes.get(dep.key)
            state = (change.state if change is not None else None) or {}
            held += int((state.get("sku") or {}).get("capacity") or 0)
        want = sum(d.capacity for d in deps)
        info = usages.get(usage)
        if info is None:
            result.checks.append(Check("quota", "warn", f"{usage}: no quota entry in {location}", "check the portal"))
            continue
        limit = int(info.get("limit") or 0)
        free = limit - int(info.get("currentValue") or 0) + held
        if want <= free:
            result.checks.append(Check("quota", "ok", f"{usage}: {want} requested, {free} available of {limit}"))
        else:
            fit = max(free - sum(d.capacity for d in deps[1:]), 0)
            result.checks.append(
                Check(
                    "quota",
                    "fail",
                    f"{usage}: {want} requested but only {free} of {limit} available in {location}",
                    f"lower the capacity to at most {fit} for {deps[0].name}, "
                    "request more quota, or pick another region",
                )
            )


def check_soft_delete(ctx: Context, result: PreflightResult) -> None:
    """4. A soft-deleted account holding a planned account's name."""
    accounts = ctx.plan.of_type(ACCOUNT_TYPE)
    if not accounts:
        return
    listed = ctx.read(lambda: list(ctx.arm.deleted_accounts()), "listing soft-deleted accounts")
    for res in accounts:
        account = str(res.name)
        change = ctx.changes.get(res.key)
        deleted = [d for d in listed if str(d.get("name", "")).lower() == account.lower()]
        where = deleted[0].get("location", "?") if deleted else ""
        status: Status = "ok"
        fix = ""
        if change is not None and change.state is not None:
            message = f"account {account} exists; no soft-delete conflict"
        elif deleted and (ctx.restore or ctx.purge):
            result.soft_deleted = deleted[0]
            fate = "restored" if ctx.restore else "purged first"
            message = f"soft-deleted account {account} ({where}) will be {fate}"
        elif deleted:
            result.soft_deleted = deleted[0]
            until = (deleted[0].get("properties") or {}).get("scheduledPurgeDate", "") or "it is purged"
            status, message = "fail", f"a soft-deleted account named {account} ({where}) holds the name until {until}"
            fix = "re-run with --restore to recover it, or --purge to delete it for good"
        elif ctx.restore:
            status, message = "fail", f"--restore given but no soft-deleted account {account} exists"
            fix = "drop --restore"
        else:
            message = f"no soft-deleted account holds {account}"
        result.checks.append(Check("soft-delete", status, message, fix))


def required_actions(plan: ResourcePlan) -> list[str]:
    """The write permission of every type the plan writes (from the registry; `<type>/write` otherwise)."""
    types = {r.type for r in plan.resources if not r.read_only and not r.adopt_existing}
    return sorted({registry.write_permission(t) for t in types})


def check_permissions(ctx: Context, result: PreflightResult) -> None:
    """5. The caller may write every planned type (role assignments included) on the resource group."""
    target = ctx.plan.target
    rg_change = ctx.changes.get(RESOURCE_GROUP)
    if rg_change is None or rg_change.state is None:
        result.checks.append(
            Check(
                "permissions",
                "skip",
                f"resource group {target.resource_group} does not exist yet "
                "(creating it needs rights on the subscription)",
            )
        )
        return
    perms = ctx.read(lambda: ctx.arm.permissions(target.resource_group), "reading the caller's permissions")
    missing = [a for a in required_actions(ctx.plan) if not _allowed(perms, a)]
    if missing:
        result.checks.append(
            Check(
                "permissions",
                "fail",
                f"the caller lacks {', '.join(missing)} on {target.resource_group}",
                "ask for Contributor plus Role Based Access Control Administrator (or Owner) on the resource group",
            )
        )
    else:
        result.checks.append(Check("permissions", "ok", "the caller can create the resources and role assignments"))


# The checks, in the order they run and are shown (azd's local preflight keeps one function per check too).
CHECKS: tuple[Callable[[Context, PreflightResult], None], ...] = (
    check_region,
    check_models,
    check_soft_delete,
    check_permissions,
)


def run_checks(
    spec: ProjectSpec,
    plan: ResourcePlan,
    arm: Arm,
    changes: list[Change],
    *,
    retry: RetryPolicy,
    control: Control | None = None,
    restore: bool = False,
    purge: bool = False,
    today: dt.date | None = None,
) -> PreflightResult:
    """Run every check against ARM (reads only) and return every result, failed or not."""
    ctx = Context(
        spec,
        plan,
        arm,
        {c.key: c for c in changes},
        retry,
        control or Control(),
        restore,
        purge,
        today or spec_today(),
    )
    result = PreflightResult()
    for check in CHECKS:
        check(ctx, result)
    return result


def _allowed(permissions: list[dict[str, Any]], action: str) -> bool:
    """Whether any permission grants the action (wildcards, minus notActions), as ARM evaluates them."""
    action = action.lower()
    for perm in permissions:
        allowed = any(fnmatch.fnmatchcase(action, str(p).lower()) for p in perm.get("actions") or [])
        denied = any(fnmatch.fnmatchcase(action, str(p).lower()) for p in perm.get("notActions") or [])
        if allowed and not denied:
            return True
    return False
