"""Preflight checks, all read-only: region, model availability and retirement, quota, soft delete, permissions.

Each check names the problem and the fix, so a run fails before its first write instead of 20 minutes
into a deployment (pain points 1-5 and 7 in shared/reference/anchors-azd.md).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from scaffolder import catalog
from scaffolder.provisioning.arm import Arm
from scaffolder.provisioning.engine import Change, RetryPolicy, with_retries
from scaffolder.provisioning.plan import ResourcePlan
from scaffolder.spec import ProjectSpec
from scaffolder.spec import today as spec_today

Status = Literal["ok", "warn", "fail", "skip"]
# Writes provisioning makes; the caller needs each on the resource group.
REQUIRED_ACTIONS = (
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.CognitiveServices/accounts/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
)
MONITORING_ACTIONS = ("Microsoft.OperationalInsights/workspaces/write", "Microsoft.Insights/components/write")


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


def run_checks(
    spec: ProjectSpec,
    plan: ResourcePlan,
    arm: Arm,
    changes: list[Change],
    *,
    retry: RetryPolicy,
    restore: bool = False,
    purge: bool = False,
    today: dt.date | None = None,
) -> PreflightResult:
    """Run checks 1-5 against ARM (reads only) and return every result, failed or not."""
    today = today or spec_today()
    location = plan.target.location
    result = PreflightResult()
    checks = result.checks
    by_key = {c.key: c for c in changes}

    # 1. region offers the runtime
    regions = catalog.runtime_regions(spec.runtime)
    title = catalog.runtimes()[spec.runtime].title
    if location in regions:
        checks.append(Check("region", "ok", f"{title} is offered in {location}"))
    else:
        checks.append(
            Check(
                "region",
                "fail",
                f"{title} is not offered in {location}",
                f"use --location with one of: {', '.join(regions)}",
            )
        )

    # 2. models, versions and SKUs offered in the region, and their retirement dates
    offered: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for item in with_retries(lambda: list(arm.models(location)), retry, f"listing models in {location}"):
        model = item.get("model") or {}
        offered[(model.get("format", ""), model.get("name", ""), model.get("version", ""))] = model
    usage_names: dict[str, str] = {}
    for dep in spec.models:
        label = f"{dep.model} {dep.version} ({dep.sku})"
        model = offered.get((dep.format, dep.model, dep.version))
        if model is None:
            versions = sorted(v for (f, n, v) in offered if (f, n) == (dep.format, dep.model))
            fix = f"offered versions here: {', '.join(versions)}" if versions else "pick another model or --location"
            checks.append(Check("model", "fail", f"{label} is not offered in {location}", fix))
            continue
        skus = {s.get("name"): s for s in model.get("skus") or []}
        if dep.sku not in skus:
            checks.append(
                Check(
                    "model",
                    "fail",
                    f"{label}: SKU {dep.sku} is not offered in {location}",
                    f"offered SKUs: {', '.join(sorted(str(s) for s in skus))}",
                )
            )
            continue
        usage_names[dep.name] = str(skus[dep.sku].get("usageName") or f"OpenAI.{dep.sku}.{dep.model}")
        judged, retires, lifecycle = catalog.arm_state(model, today)  # the one lifecycle rule (new, check, models)
        if judged == "retired":
            checks.append(
                Check(
                    "model", "fail", f"{label} was retired on {retires}", "pick a newer version (`scaffolder models`)"
                )
            )
        elif judged != "current":
            when = f" on {retires}" if retires else ""
            checks.append(
                Check("model", "warn", f"{label} is {lifecycle or 'retiring'}: inference ends{when}", "plan an upgrade")
            )
        else:
            suffix = f" (retires {retires})" if retires else ""
            checks.append(Check("model", "ok", f"{label} is offered in {location}{suffix}"))

    # 3. quota per model + SKU, counting capacity this plan already holds
    if usage_names:
        usages = {
            str((u.get("name") or {}).get("value")): u
            for u in with_retries(lambda: list(arm.usages(location)), retry, f"listing quota in {location}")
        }
        needed: dict[str, list[Any]] = {}
        for dep in spec.models:
            if dep.name in usage_names:
                needed.setdefault(usage_names[dep.name], []).append(dep)
        for usage, deps in needed.items():
            held = 0
            for dep in deps:
                state = (by_key.get(f"deployment:{dep.name}") or Change("", "", None, "create")).state or {}
                held += int((state.get("sku") or {}).get("capacity") or 0)
            want = sum(d.capacity for d in deps)
            info = usages.get(usage)
            if info is None:
                checks.append(Check("quota", "warn", f"{usage}: no quota entry in {location}", "check the portal"))
                continue
            limit = int(info.get("limit") or 0)
            free = limit - int(info.get("currentValue") or 0) + held
            if want <= free:
                checks.append(Check("quota", "ok", f"{usage}: {want} requested, {free} available of {limit}"))
            else:
                fit = max(free - sum(d.capacity for d in deps[1:]), 0)
                checks.append(
                    Check(
                        "quota",
                        "fail",
                        f"{usage}: {want} requested but only {free} of {limit} available in {location}",
                        f"lower --capacity to at most {fit} for {deps[0].name}, "
                        "request more quota, or pick another region",
                    )
                )

    # 4. a soft-deleted account holding the name
    account = plan.names["account"]
    exists = by_key.get("account") is not None and by_key["account"].state is not None
    deleted = [
        d
        for d in with_retries(lambda: list(arm.deleted_accounts()), retry, "listing soft-deleted accounts")
        if str(d.get("name", "")).lower() == account.lower()
    ]
    if exists:
        checks.append(Check("soft-delete", "ok", f"account {account} exists; no soft-delete conflict"))
    elif deleted:
        result.soft_deleted = deleted[0]
        where = f"{deleted[0].get('location', '?')}"
        if restore:
            checks.append(Check("soft-delete", "ok", f"soft-deleted account {account} ({where}) will be restored"))
        elif purge:
            checks.append(Check("soft-delete", "ok", f"soft-deleted account {account} ({where}) will be purged first"))
        else:
            purge_date = (deleted[0].get("properties") or {}).get("scheduledPurgeDate", "")
            checks.append(
                Check(
                    "soft-delete",
                    "fail",
                    f"a soft-deleted account named {account} ({where}) holds the name "
                    f"until {purge_date or 'it is purged'}",
                    "re-run with --restore to recover it, or --purge to delete it for good",
                )
            )
    elif restore:
        checks.append(
            Check(
                "soft-delete", "fail", f"--restore given but no soft-deleted account {account} exists", "drop --restore"
            )
        )
    else:
        checks.append(Check("soft-delete", "ok", f"no soft-deleted account holds {account}"))

    # 5. the caller may create role assignments (and the resources) on the resource group
    rg_change = by_key.get("resourceGroup")
    if rg_change is None or rg_change.state is None:
        checks.append(
            Check(
                "permissions",
                "skip",
                f"resource group {plan.target.resource_group} does not exist yet "
                "(creating it needs rights on the subscription)",
            )
        )
    else:
        perms = with_retries(
            lambda: arm.permissions(plan.target.resource_group), retry, "reading the caller's permissions"
        )
        actions = REQUIRED_ACTIONS + (MONITORING_ACTIONS if plan.monitoring else ())
        missing = [a for a in actions if not _allowed(perms, a)]
        if missing:
            checks.append(
                Check(
                    "permissions",
                    "fail",
                    f"the caller lacks {', '.join(missing)} on {plan.target.resource_group}",
                    "ask for Contributor plus Role Based Access Control Administrator (or Owner) on the resource group",
                )
            )
        else:
            checks.append(Check("permissions", "ok", "the caller can create the resources and role assignments"))
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
