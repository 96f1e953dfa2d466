"""policy/secure-parameter-literal: a @secure() parameter gets no literal value in the committed parameters file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from scaffolder import safeio
from scaffolder.validate._model import pos
from scaffolder.validate._project import AZD_VAR, PARAMETERS_FILE
from scaffolder.validate.rules._base import FileContext, Hit, Rule


def parameters_file(ctx: FileContext) -> Path:
    """The parameters file of a Bicep file: main.parameters.json for main.bicep, else <stem>.parameters.json.

    azd reads infra/main.parameters.json; `<stem>.parameters.json` beside a file is ARM's convention (the fixtures).
    """
    if ctx.project.main is ctx.file:
        return ctx.project.parameters_path
    return ctx.file.path.with_name(f"{ctx.file.path.stem}.parameters.json")


def secure_params(ctx: FileContext) -> list[str]:
    """Names of the file's @secure() parameters."""
    return [n for n, d in ctx.file.params.items() if d.decorator("secure") is not None]


def literal_kind(value: object) -> str | None:
    """What is literal about a secure parameter's value (None when it is a reference or carries nothing).

    Allowed: "${VAR}" (azd substitutes the azd environment's value when it deploys, so the secret lives in
    .azure/<env>/.env or CI's secret store, never in git) and an empty value (no secret at all). A Key Vault
    reference is a `reference` entry, not a `value`, and never reaches here.
    """
    if isinstance(value, str):
        whole = AZD_VAR.fullmatch(value)
        if whole is not None:
            # "${VAR=default}": the default is committed text, a literal secret like any other when not empty
            return "a literal default" if whole.group(2) else None
        return "a literal value" if value else None
    if isinstance(value, dict):
        return next((k for k in map(literal_kind, value.values()) if k), None)
    if isinstance(value, list):
        return next((k for k in map(literal_kind, value) if k), None)
    return None if value is None else "a literal value"


def committed_values(value: object) -> list[str]:
    """The committed text of a secure parameter's value: literals and ${VAR=default} defaults (what to mask)."""
    if isinstance(value, str):
        whole = AZD_VAR.fullmatch(value)
        text = value if whole is None else (whole.group(2) or "")
        return [text] if text else []
    if isinstance(value, dict):
        return [t for item in value.values() for t in committed_values(item)]
    if isinstance(value, list):
        return [t for item in value for t in committed_values(item)]
    return []


def check(ctx: FileContext) -> Iterator[Hit]:
    """Each @secure() param whose parameters-file entry is a literal (the value itself is never repeated)."""
    names = secure_params(ctx)
    if not names:
        return
    path = parameters_file(ctx)
    if not path.is_file() or not safeio.is_inside(path, ctx.project.repo):
        return  # missing or a link leaving the repo: the parameters-file layer reports it
    try:
        data = safeio.load_json(safeio.read_confined(path, ctx.project.repo, limit=safeio.MAX_TEXT_BYTES)
                                .decode("utf-8"))
    except (OSError, ValueError, safeio.UnsafeInputError):
        return  # not readable JSON: the parameters-file layer reports it, with its line
    params = data.get("parameters") if isinstance(data, dict) else None
    if not isinstance(params, dict):
        return
    shown = PARAMETERS_FILE if path.name == PARAMETERS_FILE else path.name
    for name in names:
        entry = params.get(name)
        if not isinstance(entry, dict) or "value" not in entry:
            continue
        kind = literal_kind(entry["value"])
        if kind is not None:
            yield (pos(ctx.file.params[name].name_node),
                   f"@secure() param {name!r} has {kind} in {shown} (committed to git, the secret is readable by "
                   f"anyone with the repo); write \"${{NAME}}\" there and set it with `azd env set NAME ...` "
                   "(CI: a repository secret), or use a Key Vault reference")


RULE = Rule("secure-parameter-literal", "a @secure() parameter gets no literal value in the parameters file", check,
            checkov_gap="checkov does not read azd parameters files")
