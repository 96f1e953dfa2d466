"""One error hierarchy: every user-facing failure is a ScaffolderError with a hint and an exit code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Exit codes that belong to no ScaffolderError subclass (each subclass carries its own `exit_code`).
EXIT_FAILURE = 1  # an unexpected failure (a bug, an unclassified SDK error) or a failed OS call
EXIT_CHECK_FAILED = 1  # `check` found problems
EXIT_CONFLICTS = 1  # `update` left conflicts to resolve
EXIT_USAGE = 2  # a usage error (unknown option, missing argument), or bare `scaffolder`
EXIT_UPDATE_AVAILABLE = 2  # `update --check`: an update is available
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE)


class ScaffolderError(Exception):
    """A failure the user can act on: printed as one line plus a hint, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The whole story (e.g. every credential tried), shown with --debug only.
        self.detail: str | None = None

    def __str__(self) -> str:
        return self.message


class SpecError(ScaffolderError):
    """The project spec (flags, prompts or answers file) is invalid."""

    exit_code = 2


class MissingValuesError(SpecError):
    """Values that must be given are missing and prompting is not possible."""

    def __init__(self, missing: Iterable[tuple[str, str]]) -> None:
        self.missing = list(missing)
        parts = ", ".join(f"{name} ({flag})" for name, flag in self.missing)
        super().__init__(
            f"missing values and no prompting possible: {parts}",
            hint="pass them as flags, or run on a terminal without --no-input to be asked",
        )


class CatalogError(SpecError):
    """A model, version, SKU or runtime combination the catalog does not allow."""


class TargetExistsError(ScaffolderError):
    """The target directory holds files the generator would otherwise overwrite."""

    exit_code = 5


class TemplateError(ScaffolderError):
    """A template failed to render: a bug in the tool or its templates, not in the user's input."""

    exit_code = 70


class AnswersFileError(ScaffolderError):
    """The answers file of a generated repo is missing or unreadable."""

    exit_code = 2


class AcceptedFileError(ScaffolderError):
    """A repo's .scaffolder/accepted.yml (of `check --accept`) is damaged (merge conflict, bad YAML) or a link."""

    exit_code = 2


class ProvisionError(ScaffolderError):
    """Provisioning stopped: an ARM request failed for good; `code` is the ARM error code when there is one."""

    exit_code = 6

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class ParameterError(ProvisionError):
    """A parameter value the Bicep's declaration rejects; found before anything was written."""

    exit_code = 2


class PreflightError(ProvisionError):
    """A preflight check failed before anything was written."""

    exit_code = 7


class CredentialError(ProvisionError):
    """No Azure credential could produce a token."""

    exit_code = 8


class ProvisionInterrupted(ProvisionError):
    """The user stopped provisioning; finished resources stay, a re-run completes the rest."""

    exit_code = EXIT_INTERRUPTED


class StandardsError(ScaffolderError):
    """The standards file is unreadable or invalid, or a choice breaks one of its rules."""

    exit_code = 3


class OverlayError(StandardsError):
    """An overlay of the standards is unusable: outside its folder, failing to render, too large, unsafe."""


class UntrustedOverlayError(ScaffolderError):
    """An overlay carries executable hooks (or replaces generator-owned files) and --trust was not given."""

    exit_code = 4


class HookError(ScaffolderError):
    """An overlay hook failed; nothing was written."""


class ToolError(ScaffolderError):
    """An external validation tool (checkov, pycep) is missing or failed to run: not a finding."""

    exit_code = 9


class DirtyTreeError(ScaffolderError):
    """`update` found uncommitted changes in the repo's git work tree and --allow-dirty was not given."""


class BaseUnavailableError(ScaffolderError):
    """`update` cannot reconstruct what the recorded tool version generated (the merge base)."""


class UpdateInterrupted(ScaffolderError):
    """`update` was interrupted part-way (Ctrl-C); running it again finishes the job."""

    exit_code = EXIT_INTERRUPTED


class UnresolvedConflictsError(ScaffolderError):
    """`update` (or --check) found conflict markers a previous update wrote and nobody resolved yet."""


def yaml_problem(path: Path | str, exc: Any) -> str:
    """A YAML parse error in words: "FILE line N, column M: problem", without the parser's internals."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path} line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
    return f"{where}: {yaml_words(exc)}"


# PyYAML's token names, as a reader of the file would say them.
_YAML_TOKENS = {
    "<stream end>": "the end of the file",
    "<document start>": "'---'",
    "<document end>": "'...'",
    "<block end>": "the end of the indented block",
    "<block mapping start>": "a more indented 'key: value'",
    "<block sequence start>": "a more indented '- ' item",
    "<scalar>": "a plain value",
    "?": "a 'key: value' line",
    "-": "a '- ' list item",
}


def yaml_words(exc: Any) -> str:
    """What is wrong with a YAML file, said in words (PyYAML's problem and context, translated)."""
    problem = " ".join(str(getattr(exc, "problem", None) or "").split())
    context = " ".join(str(getattr(exc, "context", None) or "").split())
    if not problem:
        # The bounded loader raises plain YAMLErrors (alias bomb, depth) whose message is the problem itself.
        return " ".join(str(exc).split())[:300] or "not valid YAML"
    opened = getattr(exc, "context_mark", None)
    at = f" opened on line {opened.line + 1}" if opened is not None else ""
    got = re.search(r"but (?:got|found) '?(<[^>]+>|[^']*)'?$", problem)
    found = got.group(1) if got else ""
    end = found == "<stream end>"
    if context.startswith("while parsing a flow sequence"):
        return (f"the file ends inside a list{at}; a ']' is missing" if end
                else f"the list{at} is not closed: a ',' or ']' is missing before {_yaml_token(found)}")
    if context.startswith("while parsing a flow mapping"):
        return (f"the file ends inside a {{...}} mapping{at}; a '}}' is missing" if end
                else f"the {{...}} mapping{at} is not closed: a ',' or '}}' is missing before {_yaml_token(found)}")
    if "quoted scalar" in context and "end of stream" in problem:
        return f"the file ends inside a quoted string{at}; its closing quote is missing"
    if "quoted scalar" in context and "escape character" in problem:
        escape = problem.replace("found unknown", "unknown")
        return f"{escape} in a double-quoted string (use single quotes for a backslash)"
    if context.startswith("while parsing a flow node"):
        return ("the file ends where a value is expected: a list '[' or mapping '{' is not closed" if end
                else f"a value is missing before {_yaml_token(found)}")
    if problem.startswith("could not determine a constructor for the tag"):
        tag = problem.rsplit(" ", 1)[-1]
        return f"unknown tag {tag}: remove it, or quote the value"
    if problem == "mapping values are not allowed here":
        return "a ':' where none can be: quote a value that holds ': ', or indent this line like the keys above it"
    if problem.startswith("found character '\\t'"):
        return "a tab character: YAML indents with spaces only"
    if problem.startswith("found character"):
        char = problem.split("'")[1] if "'" in problem else "this character"
        return f"a value cannot start with '{char}': put the value in quotes"
    if problem.startswith("found undefined alias"):
        alias = problem.removeprefix("found undefined alias").strip(" '")
        return f"the alias *{alias} refers to no anchor &{alias} above it"
    if context.startswith("expected a single document"):
        return "a second document ('---') in the file: a file holds one document"
    if context.startswith("while scanning a simple key"):
        return f"a line{at} that is not 'key: value': its ':' is missing"
    if context.startswith(("while parsing a block mapping", "while parsing a block collection")):
        return (f"this line is indented differently from the block{at}: put its key or '- ' item at the same "
                "depth as the ones above it")
    words = problem
    for token, said in _YAML_TOKENS.items():
        if token.startswith("<"):
            words = words.replace(f"'{token}'", said).replace(token, said)
    return words.replace("but got", "but found")


def _yaml_token(token: str) -> str:
    return _YAML_TOKENS.get(token, f"'{token}'" if token else "this point")


def toml_problem(path: Path | str, exc: Any, source: str | None = None) -> str:
    """A TOML parse error in the same one-line form: "FILE line N, column M: problem".

    tomllib says "at end of document" without a line: with the `source` text, the end's line and column are named.
    """
    text = " ".join(str(exc).split())
    at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if at is None:
        words = text.removesuffix(" (at end of document)")
        ends = " where the file ends (something is not closed)" if words != text else ""
        where = str(path)
        if ends and source is not None:
            lines = source.splitlines() or [""]
            where = f"{path} line {len(lines)}, column {len(lines[-1]) + 1}"
        return f"{where}: {words[:1].lower() + words[1:]}{ends}"
    words = text[:at.start()]
    return f"{path} line {at.group(1)}, column {at.group(2)}: {words[:1].lower() + words[1:]}"


# pydantic's error types, said as a rule the value breaks ("must be ..."), without "Input should be" wording.
_PYDANTIC_WORDS = {
    "extra_forbidden": "unknown key: remove it or check its spelling",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "list_type": "must be a list, e.g. [a, b]",
    "tuple_type": "must be a list, e.g. [a, b]",
    "set_type": "must be a list, e.g. [a, b]",
    "dict_type": "must be a mapping of key: value",
    "model_type": "must be a mapping of key: value",
    "model_attributes_type": "must be a mapping of key: value",
    "missing": "is required",
}


def pydantic_words(err: Any) -> str:
    """One pydantic error (an item of ValidationError.errors()) in words: the rule the value breaks."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    bounds = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
              "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind in {"literal_error", "enum"} and ctx.get("expected"):
        return f"must be {ctx['expected']}"
    if kind in _PYDANTIC_WORDS:
        return _PYDANTIC_WORDS[kind]
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return msg.replace("Input should be", "must be")
