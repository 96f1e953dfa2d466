"""policy/custom-subdomain: Foundry accounts set customSubDomainName (Entra ID tokens need it)."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate.rules._base import ACCOUNTS, FileContext, Hit, Rule, get


def check(ctx: FileContext) -> Iterator[Hit]:
    """properties.customSubDomainName is present on every account."""
    for res, body, at in ctx.bodies(ACCOUNTS):
        if get(body, ("properties", "customSubDomainName")) is None:
            yield at, f"account {res.name!r} sets no properties.customSubDomainName"


RULE = Rule("custom-subdomain", "Foundry accounts set customSubDomainName (Entra ID tokens need it)", check,
            ("CKV2_FOUNDRY_7",))
