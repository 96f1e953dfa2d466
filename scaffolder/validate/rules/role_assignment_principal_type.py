"""policy/role-assignment-principal-type: role assignments set principalType."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate.rules._base import FileContext, Hit, Rule, get


def check(ctx: FileContext) -> Iterator[Hit]:
    """properties.principalType is present on every role assignment."""
    for res, body, at in ctx.bodies("microsoft.authorization/roleassignments"):
        if get(body, ("properties", "principalType")) is None:
            yield at, f"role assignment {res.name!r} sets no properties.principalType"


RULE = Rule("role-assignment-principal-type",
            "role assignments set principalType (avoids PrincipalNotFound for just-created identities)", check,
            ("CKV2_FOUNDRY_8",))
