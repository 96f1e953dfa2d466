"""policy/no-secret-outputs: no output carries a key, secret, password or credential."""

from __future__ import annotations

import re
from collections.abc import Iterator

from scaffolder.validate._model import call_name, iter_nodes, pos, string_value, text
from scaffolder.validate.rules._base import FileContext, Hit, Rule

SECRET_WORDS = frozenset({
    "key", "keys", "secret", "secrets", "password", "passwd", "pwd", "credential", "credentials", "sas",
})


def words(name: str) -> set[str]:
    """Words of an identifier: camelCase, snake_case and digits split (primaryKey1 -> primary, key).

    "key vault" stays one word: a vault's name or URI is no secret.
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    parts = [w.lower().rstrip("0123456789") for w in re.split(r"[^A-Za-z0-9]+|\s", spaced) if w]
    return set(" ".join(parts).replace("key vault", "keyvault").split())


def check(ctx: FileContext) -> Iterator[Hit]:
    """Output names, @secure() params, getSecret() and secret-named properties or keys read by an output."""
    secure = {n for n, d in ctx.file.params.items() if d.decorator("secure") is not None}
    for name, decl in ctx.file.outputs.items():
        secret = words(name) & SECRET_WORDS
        if secret:
            yield pos(decl.name_node), f"output {name!r} looks like a secret ({', '.join(sorted(secret))})"
            continue
        for node in iter_nodes(decl.value) if decl.value is not None else ():
            if node.type == "identifier" and text(node) in secure:
                yield pos(node), f"output {name!r} returns the @secure() param {text(node)!r}"
            elif node.type == "call_expression" and (call_name(node) or "").rsplit(".", 1)[-1] == "getSecret":
                yield pos(node), f"output {name!r} returns a Key Vault secret"
            elif node.type == "property_identifier" and words(text(node)) & SECRET_WORDS:
                yield pos(node), f"output {name!r} reads {text(node)!r}, a secret"
            elif node.type == "string" and node.parent is not None and node.parent.type == "subscript_expression":
                key = string_value(node)
                if key and words(key) & SECRET_WORDS:
                    yield pos(node), f"output {name!r} reads {key!r}, a secret"


RULE = Rule("no-secret-outputs", "no output carries a key, secret, password or credential", check,
            checkov_gap="checkov's Bicep policies do not cover outputs")
