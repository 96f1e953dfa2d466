"""policy/checkov-skip-reason: every `checkov:skip=ID` comment gives a reason after a colon."""

from __future__ import annotations

import re
from collections.abc import Iterator

from scaffolder.validate._model import iter_nodes, pos, text
from scaffolder.validate.rules._base import FileContext, Hit, Rule

SKIP_COMMENT = re.compile(r"checkov:skip=([A-Za-z0-9_]*)(.*)")


def check(ctx: FileContext) -> Iterator[Hit]:
    """A skip names a check id and, after a colon, why."""
    for node in iter_nodes(ctx.file.root):
        match = SKIP_COMMENT.search(text(node)) if node.type == "comment" else None
        if match is None:
            continue
        check_id, rest = match.group(1), match.group(2)
        if not check_id:
            yield pos(node), "checkov:skip names no check id"
        elif not (rest[1:].strip() if rest.startswith(":") else ""):
            yield pos(node), f"checkov:skip={check_id} gives no reason; write `checkov:skip={check_id}: why`"


RULE = Rule("checkov-skip-reason", "every `checkov:skip=ID` comment gives a reason after a colon", check,
            checkov_gap="the skip comments are checkov's own input")
