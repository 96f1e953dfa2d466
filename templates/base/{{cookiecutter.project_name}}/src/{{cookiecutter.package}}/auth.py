"""Keyless sign-in: an Entra ID token for the runtime's scope, from az login locally or a managed identity in Azure."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from openai import OpenAI

    from {{ cookiecutter.package }}.settings import Settings

# The audience this runtime's endpoint documents for Entra ID tokens (checked 2026-11-29). Sources:
{%- if cookiecutter.runtime == "agents" %}
# - the project endpoint (/api/projects/<project>, and the OpenAI client it hands out): azure-ai-projects 2.x
#   requests "https://ai.azure.com/.default" itself (AIProjectClient, get_openai_client);
{%- endif %}
# - /openai/v1/ (Responses and chat completions, every provider): MicrosoftDocs/azure-ai-docs
#   articles/foundry/openai/includes/api-version-lifecycle-content.md (ms.date 2026-03-19) uses
#   "https://ai.azure.com/.default" in every Entra ID example, and
#   articles/foundry/foundry-models/includes/code-create-chat-client-entra.md (ms.date 2026-07-31) says
#   "Tokens must be issued with scope https://ai.azure.com/.default".
# The older "https://cognitiveservices.azure.com/.default" was still accepted by /openai/v1/ in 2026 (it is used
# in dotnet/extensions#7704), but the docs no longer show it; tests/fake_service.py accepts only the documented one.
TOKEN_SCOPE = "{{ cookiecutter.token_scope }}"


def credential(settings: Settings) -> TokenCredential:
    """In Azure, the user-assigned managed identity AZURE_CLIENT_ID names; elsewhere DefaultAzureCredential.

    azd and `scaffolder provision` write AZURE_CLIENT_ID into the env file a developer copies to .env, so
    the client id alone does not mean "in Azure": only a managed-identity endpoint in the environment does.
    On a laptop the chain then reaches `az login` (its managed-identity step still uses the client id).
    """
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    in_azure = bool(os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"))
    if settings.azure_client_id and in_azure:
        return ManagedIdentityCredential(client_id=settings.azure_client_id)
    return DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id or None)


def token_provider(
    settings: Settings, cred: TokenCredential | None = None, scope: str = TOKEN_SCOPE
) -> Callable[[], str]:
    """A callable returning a bearer token; azure-identity caches it and refreshes it before it expires."""
    from azure.identity import get_bearer_token_provider

    return get_bearer_token_provider(cred or credential(settings), scope)


def openai_v1_url(endpoint: str) -> str:
    """The OpenAI v1 base URL: AZURE_OPENAI_ENDPOINT is the bare resource URL, which gets /openai/v1/ added."""
    url = endpoint.strip().rstrip("/") + "/"
    return url if url.endswith("/openai/v1/") else url + "openai/v1/"


def openai_client(settings: Settings, endpoint: str, cred: TokenCredential | None = None) -> OpenAI:
    """The plain openai client on a Foundry /openai/v1/ endpoint: bearer token per request, no key, no api-version."""
    from openai import OpenAI

    return OpenAI(
        base_url=openai_v1_url(endpoint),
        api_key=token_provider(settings, cred),
        max_retries=settings.app_max_retries,
        timeout=settings.app_timeout_seconds,
    )
