"""policy/deployment-rai-policy: model deployments name a RAI (content filter) policy."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate._eval import Lit
from scaffolder.validate.rules._base import DEPLOYMENTS, FileContext, Hit, Rule, get


def check(ctx: FileContext) -> Iterator[Hit]:
    """properties.raiPolicyName is set and not empty."""
    for res, body, at in ctx.bodies(DEPLOYMENTS):
        rai = get(body, ("properties", "raiPolicyName"))
        if rai is None or (isinstance(rai.value, Lit) and not rai.value.value):
            yield ctx.here(rai, at), f"deployment {res.name!r} sets no properties.raiPolicyName (content filter)"


RULE = Rule("deployment-rai-policy", "model deployments name a RAI (content filter) policy", check, ("CKV2_FOUNDRY_2",))
