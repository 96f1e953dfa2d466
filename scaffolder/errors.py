"""One error hierarchy: every user-facing failure is a ScaffolderError with a hint and an exit code."""

from __future__ import annotations

from collections.abc import Iterable


class ScaffolderError(Exception):
    """A failure the user can act on: printed as one line plus a hint, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

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

    exit_code = 130


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

    exit_code = 130


class UnresolvedConflictsError(ScaffolderError):
    """`update` (or --check) found conflict markers a previous update wrote and nobody resolved yet."""
