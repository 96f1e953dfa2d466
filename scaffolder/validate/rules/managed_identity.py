"""policy/managed-identity: Foundry accounts and projects have a managed identity."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate._eval import Lit
from scaffolder.validate.rules._base import ACCOUNTS, PROJECTS, FileContext, Hit, Rule, get


def check(ctx: FileContext) -> Iterator[Hit]:
    """identity.type is set and not None."""
    for res, body, at in ctx.bodies(ACCOUNTS, PROJECTS):
        item = get(body, ("identity", "type"))
        if item is None:
            yield at, f"{res.name!r} has no managed identity (identity.type)"
        elif isinstance(item.value, Lit) and item.value.value in (None, "None"):
            yield ctx.here(item, at), f"{res.name!r} sets identity.type to None"


RULE = Rule("managed-identity", "Foundry accounts and projects have a managed identity", check, ("CKV2_FOUNDRY_6",))
