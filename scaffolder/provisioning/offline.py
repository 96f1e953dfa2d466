"""`provision --preview` without a credential: the plan from the repo alone, marked as not compared with Azure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scaffolder.provisioning.plan import ResourcePlan, Target, plan_from_bicep
from scaffolder.spec import load_answers

NOT_COMPARED = "not compared with Azure (no credential): every resource is listed as the Bicep declares it"


def offline_plan(
    directory: Path | str,
    *,
    subscription_id: str,
    resource_group: str,
    location: str | None = None,
    environment: str = "dev",
    principal_id: str | None = None,
    principal_type: str | None = None,
    restore: bool = False,
) -> ResourcePlan:
    """What provisioning would create (names, bodies, order) computed from the repo alone; reads nothing in Azure.

    Without --principal-id the deploying principal is unknown offline, so its role assignments are left out
    (as the Bicep does for an empty principalId).
    """
    spec, _ = load_answers(Path(directory))
    target = Target(
        subscription_id=subscription_id,
        resource_group=resource_group,
        location=(location or spec.location).strip().lower().replace(" ", ""),
        environment=environment,
        principal_id=principal_id or "",
        principal_type=principal_type or spec.principal_type,
        restore=restore,
    )
    return plan_from_bicep(directory, target)


def plan_as_dict(plan: ResourcePlan) -> dict[str, Any]:
    """JSON-ready plan: order, type@version, name and body of each resource, and the caveat."""
    return {
        "compared_with_azure": False,
        "note": NOT_COMPARED,
        "resources": [
            {"order": i, "key": r.key, "type": r.type, "api_version": r.api_version, "name": str(r.name),
             "depends_on": list(r.depends_on), "body": json.loads(json.dumps(r.body, default=str))}
            for i, r in enumerate(plan.resources, 1)
        ],
    }

