"""Credential failures in one line: which credential was tried, why it failed, and only the hints still open."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping

from scaffolder.errors import CredentialError

# azure-identity's DefaultAzureCredential lists each credential it tried as "\t<Name>: <reason>".
_ATTEMPT = re.compile(r"^\s*(?P<name>\w+Credential): (?P<reason>.+)$", re.MULTILINE)
# Reasons meaning "this credential had nothing to try with" (not configured, tool absent), as azure-identity words them.
_UNAVAILABLE = re.compile(r"unavailable|not found|not installed|could not be found|requires the|not fully configured"
                          r"|no accounts were found", re.IGNORECASE)
_SP_VARS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    m = re.match(r"(.+?[.!])(\s|$)", text)
    return (m.group(1) if m else text).rstrip(".")


def credential_error(text: str, *, tenant_given: bool = False, environ: Mapping[str, str] | None = None,
                     which: Callable[[str], str | None] = shutil.which) -> CredentialError:
    """A CredentialError from azure-identity's failure text: one line naming the credential, hints for what is undone.

    The full text (every credential tried) is kept as `detail` for --debug.
    """
    env = os.environ if environ is None else environ
    attempts = [(m["name"], m["reason"].strip()) for m in _ATTEMPT.finditer(text)]
    failed = [(name, reason) for name, reason in attempts if not _UNAVAILABLE.search(reason)]
    if failed:
        name, reason = failed[0]
        message = f"no Azure credential available: {name} was tried and failed: {_first_sentence(reason)}"
    elif attempts:
        message = ("no Azure credential available: none of the credentials had anything to sign in with "
                   f"({', '.join(name for name, _ in attempts)})")
    else:
        first = text.strip().splitlines()[0] if text.strip() else "unknown failure"
        message = f"no Azure credential available: {first}"
    hints: list[str] = []
    set_vars = [v for v in _SP_VARS if env.get(v)]
    if set_vars and len(set_vars) < len(_SP_VARS) and not env.get("AZURE_FEDERATED_TOKEN_FILE"):
        missing = [v for v in _SP_VARS if v not in set_vars]
        hints.append(f"{', '.join(set_vars)} set: also set {' and '.join(missing)} for a service principal")
    has_az, has_azd = bool(which("az")), bool(which("azd"))
    if any(name == "AzureCliCredential" for name, _ in failed) or (has_az and not failed):
        hints.append("run `az login`")
    elif any(name == "AzureDeveloperCliCredential" for name, _ in failed) or (has_azd and not failed):
        hints.append("run `azd auth login`")
    elif not has_az and not has_azd and not failed:
        hints.append("install the Azure CLI and run `az login` (or azd: `azd auth login`)")
        if not set_vars:
            hints.append(f"or set {', '.join(_SP_VARS)} for a service principal")
    if not tenant_given and failed and "tenant" in failed[0][1].lower():
        hints.append("--tenant picks the directory")
    error = CredentialError(message, hint="; ".join(hints) or None, code="CredentialUnavailable")
    error.detail = text.strip()
    return error
