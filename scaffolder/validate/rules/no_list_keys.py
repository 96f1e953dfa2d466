"""policy/no-list-keys: no listKeys()/list*() calls, which pull keys into the deployment."""

from __future__ import annotations

from collections.abc import Iterator

from scaffolder.validate._model import call_name, iter_nodes, pos
from scaffolder.validate.rules._base import FileContext, Hit, Rule


def check(ctx: FileContext) -> Iterator[Hit]:
    """Any call whose last name part is list<Upper...> (listKeys, listConnectionStrings, ...)."""
    for node in iter_nodes(ctx.file.root):
        if node.type == "call_expression":
            name = call_name(node) or ""
            short = name.rsplit(".", 1)[-1]
            if short.startswith("list") and short[4:5].isupper():
                yield pos(node), f"{name}() pulls keys or secrets into the deployment"


RULE = Rule("no-list-keys", "no listKeys()/list*() calls: they pull keys into the deployment", check,
            checkov_gap="checkov's resource policies see attributes, not function calls in vars and outputs")
