"""policy/local-auth-disabled: key-based (local) auth is off on every resource type that has it."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate._eval import Lit
from scaffolder.validate.rules._base import ACCOUNTS, FileContext, Hit, Rule, get

# resource type -> (property path, the value that turns local auth off)
LOCAL_AUTH: dict[str, tuple[tuple[str, ...], bool]] = {
    ACCOUNTS: (("properties", "disableLocalAuth"), True),
    "microsoft.insights/components": (("properties", "DisableLocalAuth"), True),
    "microsoft.operationalinsights/workspaces": (("properties", "features", "disableLocalAuth"), True),
    "microsoft.search/searchservices": (("properties", "disableLocalAuth"), True),
    "microsoft.documentdb/databaseaccounts": (("properties", "disableLocalAuth"), True),
    "microsoft.storage/storageaccounts": (("properties", "allowSharedKeyAccess"), False),
}


def check(ctx: FileContext) -> Iterator[Hit]:
    """The type's switch is set, literally, to the value that turns local auth off."""
    for res, body, at in ctx.bodies(*LOCAL_AUTH):
        path, wanted = LOCAL_AUTH[res.type.lower()]
        item, dotted, shown = get(body, path), ".".join(path), str(wanted).lower()
        if item is None:
            yield at, f"{res.name!r} does not set {dotted} (must be {shown})"
        elif not (isinstance(item.value, Lit) and item.value.value is wanted):
            value = repr(item.value.value) if isinstance(item.value, Lit) else "an expression"
            yield ctx.here(item, at), f"{res.name!r} sets {dotted} to {value}; it must be literally {shown}"


RULE = Rule(
    "local-auth-disabled",
    "key-based (local) auth is off: disableLocalAuth true on Foundry accounts, Search and Cosmos DB, "
    "DisableLocalAuth true on Application Insights, features.disableLocalAuth true on Log Analytics, "
    "allowSharedKeyAccess false on storage",
    check,
    ("CKV2_FOUNDRY_4", "CKV2_FOUNDRY_5", "CKV2_FOUNDRY_9"),
)
