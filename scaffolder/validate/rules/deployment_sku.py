"""policy/deployment-sku: model deployments set sku.name and sku.capacity."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate.rules._base import DEPLOYMENTS, FileContext, Hit, Rule, get


def check(ctx: FileContext) -> Iterator[Hit]:
    """sku.name and sku.capacity are both present."""
    for res, body, at in ctx.bodies(DEPLOYMENTS):
        for key in ("name", "capacity"):
            if get(body, ("sku", key)) is None:
                yield at, f"deployment {res.name!r} sets no sku.{key}"


RULE = Rule("deployment-sku", "model deployments set sku.name and sku.capacity", check, ("CKV2_FOUNDRY_3",))
