"""The agent as code: its definition is declared here (and in settings); `sync` versions it only when it changed.

Foundry agents are named and versioned, and versions are immutable: every change is a new version, and a chat
runs the latest one. `sync` fingerprints the declared definition (SHA-256 of its canonical JSON), reads the
latest version's fingerprint from its metadata, and creates a version only when the two differ, so running it
on every deploy is safe. A version made elsewhere (the portal, another tool) has no matching fingerprint: the
next sync puts the declared definition back on top.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package }}.agent_tools import {% if 'file-search' in cookiecutter.tools %}VECTOR_STORE_NAME, {% endif %}check_limits, hosted_tools
from {{ cookiecutter.package }}.auth import TOKEN_SCOPE, credential
from {{ cookiecutter.package }}.errors import ROLE, ServiceError, SettingsError, service_error
from {{ cookiecutter.package }}.settings import Settings
{%- if 'agent' in cookiecutter.tools %}
from {{ cookiecutter.package }}.specialists import (
    SPECIALISTS,
    a2a_tools,
    enable_a2a,
    ensure_connection,
    project_resource_id,
)
{%- endif %}
from {{ cookiecutter.package }}.tools import responses_tools

if TYPE_CHECKING:
    from azure.ai.projects import AIProjectClient
    from azure.ai.projects.models import AgentVersionDetails
    from azure.core.credentials import TokenCredential

DEFAULT_AGENT_NAME = "{{ cookiecutter.project_name }}"
FINGERPRINT_KEY = "definition_sha256"
MANAGED_BY = "{{ cookiecutter.project_name }} agent sync"
DESCRIPTION = "chat agent of {{ cookiecutter.project_name }}, managed in code (agent.py, `agent sync`)"
# The service's rule for agent names: alphanumeric at both ends, hyphens inside, at most 63 characters.
_AGENT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class AgentSpec:
    """What the agent should be: a prompt agent on a model deployment, with instructions and tools."""

    name: str
    description: str
    definition: dict[str, Any]  # the JSON sent as `definition` (kind "prompt")

    @property
    def fingerprint(self) -> str:
        """Changes exactly when what the service would store changes (key order and spacing do not count)."""
        canonical = json.dumps(
            {"definition": self.definition, "description": self.description},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SyncResult:
    """What `sync` found and did. `version` is None only when a check found the agent out of date."""

    name: str
    version: str | None
    previous: str | None  # the latest version before this sync (None: the agent did not exist)
    created: bool
    up_to_date: bool

    def describe(self) -> str:
        if self.created and self.previous is None:
            return f"agent {self.name}: created version {self.version}"
        if self.created:
            changed = f"the definition changed since version {self.previous}"
            return f"agent {self.name}: created version {self.version} ({changed})"
        if self.up_to_date:
            return f"agent {self.name}: up to date (version {self.version})"
        was = f"latest is version {self.previous}" if self.previous else "it does not exist yet"
        return f"agent {self.name}: out of date ({was}); `{MANAGED_BY}` would create a new version"


def agent_name(settings: Settings) -> str:
    """APP_AGENT_NAME, or the project name; checked against the service's naming rule before any request."""
    name = settings.app_agent_name.strip() or DEFAULT_AGENT_NAME
    if not _AGENT_NAME.fullmatch(name):
        raise SettingsError(
            f"invalid setting APP_AGENT_NAME={name!r}: use letters, digits and hyphens (not first or last), "
            "at most 63 characters"
        )
    return name


def builtin_tools(settings: Settings) -> list[dict[str, Any]]:
    """Hosted tools the service runs itself, switched on by settings."""
    tools: list[dict[str, Any]] = []
    store_ids = [s.strip() for s in settings.app_file_search_vector_store_ids.split(",") if s.strip()]
    if store_ids:
        tools.append({"type": "file_search", "vector_store_ids": store_ids})
    if settings.app_code_interpreter:
        tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
    return tools


def declared_agent(settings: Settings, project: AIProjectClient | None = None) -> AgentSpec:
    """The agent this app chats with.

    Edit this, agent_tools.py or the settings they read, then run `{{ cookiecutter.project_name }} agent sync`.
    With `project`, the connection and vector store names the hosted tools use are looked up on the project (what
    sync sends); without it (`agent show`), they are shown as the names they will resolve from.
    """
    hosted = _hosted(settings, project)
    tools = responses_tools() + _merged(builtin_tools(settings), hosted)
{%- if 'agent' in cookiecutter.tools %}
    # One A2A tool per specialist (specialists.py): `sync_all` makes each specialist and its connection first.
    tools += a2a_tools(settings) if project is not None else [
        {"type": "a2a", "a2a_version": "1.0", "project_connection_id": f"<ARM id of connection '{s.connection}'>"}
        for s in SPECIALISTS]
{%- endif %}
    return AgentSpec(
        name=agent_name(settings),
        description=DESCRIPTION,
        definition={
            "kind": "prompt",
            "model": settings.azure_ai_model_deployment,
            "instructions": settings.app_instructions,
            # The function tools run in this app (tools.py): the agent asks for a call, the app answers it. The
            # hosted tools (agent_tools.py) run on the service.
            "tools": tools,
        },
    )


def _hosted(settings: Settings, project: AIProjectClient | None) -> list[dict[str, Any]]:
    if project is None:
        try:
            return hosted_tools(*_lookups(None))
        except ValueError as exc:  # a tool's own file (the OpenAPI spec) is unreadable
            raise SettingsError(str(exc)) from None
    import openai
    from azure.core.exceptions import AzureError

    endpoint = settings.azure_ai_project_endpoint.strip()
    if not endpoint.lower().startswith("https://"):
        raise _not_https(endpoint)
    try:
        return hosted_tools(*_lookups(project))
    except AzureError as exc:
        raise project_error(exc, settings) from exc
    except openai.APIStatusError as exc:  # the vector store lookup, on the project's OpenAI surface
        raise status_error(exc.status_code, str(exc).splitlines()[0], settings) from exc
    except openai.OpenAIError as exc:
        raise service_error(exc, settings, endpoint) from exc
    except ValueError as exc:  # a tool's own file (the OpenAPI spec) is unreadable
        raise SettingsError(str(exc)) from None


def _merged(from_settings: list[dict[str, Any]], hosted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hosted tools plus the ones settings switch on, each type once (vector stores of both file searches joined)."""
    out = list(hosted)
    for tool in from_settings:
        same = next((t for t in out if t["type"] == tool["type"]), None)
        if same is None:
            out.append(tool)
        elif tool["type"] == "file_search":
            same["vector_store_ids"] = list(dict.fromkeys(same["vector_store_ids"] + tool["vector_store_ids"]))
    return out


def _lookups(project: AIProjectClient | None) -> tuple[Callable[[str], str], Callable[[str], str | None]]:
    """How hosted tools find a project connection's ARM id and a vector store's id by name."""
    if project is None:
        return (lambda name: f"<id of project connection '{name}'>"), (lambda name: f"<vector store '{name}'>")

    def connection_id(name: str) -> str:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return str(project.connections.get(name).id)
        except ResourceNotFoundError:
            # A wrong project endpoint answers 404 too: listing the project's connections tells the two apart
            # (a missing project fails the list with its own 404, reported as the endpoint's error).
            if any(c.name == name for c in project.connections.list()):
                raise
            raise SettingsError(
                f"the project has no connection named '{name}': run `azd provision` (infra/ creates it) before "
                "`agent sync`"
            ) from None

    def vector_store_id(name: str) -> str | None:
        client = project.get_openai_client()
        return next((store.id for store in client.vector_stores.list() if store.name == name), None)

    return connection_id, vector_store_id


def project_client(settings: Settings, cred: TokenCredential | None = None) -> AIProjectClient:
    """The Foundry project client (azure-core): Entra ID token for the project scope, retries for 429 and 5xx."""
    from azure.ai.projects import AIProjectClient

    return AIProjectClient(
        endpoint=settings.azure_ai_project_endpoint.strip().rstrip("/"),
        credential=cred or credential(settings),
        credential_scopes=[TOKEN_SCOPE],
        retry_total=settings.app_max_retries,
        connection_timeout=settings.app_timeout_seconds,
        read_timeout=settings.app_timeout_seconds,
    )


def latest_version(project: AIProjectClient, name: str) -> AgentVersionDetails | None:
    """The version a chat runs today, or None when there is no agent of that name."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return project.agents.get(name).versions.latest
    except ResourceNotFoundError:
        return None


def sync(project: AIProjectClient, spec: AgentSpec, settings: Settings, check: bool = False) -> SyncResult:
    """Create a new version when the declared definition differs from the latest one; `check` only compares."""
    from azure.ai.projects.models import PromptAgentDefinition
    from azure.core.exceptions import AzureError

    if not settings.azure_ai_project_endpoint.strip().lower().startswith("https://"):
        raise _not_https(settings.azure_ai_project_endpoint.strip())
    try:
        check_limits(spec.definition.get("tools", []))  # a specialist has none
    except ValueError as exc:
        raise SettingsError(f"agent {spec.name}: {exc}") from None
    try:
        latest = latest_version(project, spec.name)
        previous = latest.version if latest is not None else None
        if latest is not None and (latest.metadata or {}).get(FINGERPRINT_KEY) == spec.fingerprint:
            return SyncResult(spec.name, previous, previous, created=False, up_to_date=True)
        if check:
            return SyncResult(spec.name, None, previous, created=False, up_to_date=False)
        created = project.agents.create_version(
            spec.name,
            definition=PromptAgentDefinition(spec.definition),
            description=spec.description,
            metadata={FINGERPRINT_KEY: spec.fingerprint, "managed_by": MANAGED_BY},
        )
    except AzureError as exc:
        raise project_error(exc, settings) from exc
    return SyncResult(spec.name, created.version, previous, created=True, up_to_date=True)
{%- if 'agent' in cookiecutter.tools %}


def declared_specialists(settings: Settings) -> list[AgentSpec]:
    """The specialist agents (specialists.py): prompt agents on the same model deployment, with no tools."""
    return [
        AgentSpec(
            name=s.name,
            description=f"{s.name} specialist of {DEFAULT_AGENT_NAME}, managed in code (specialists.py)",
            definition={"kind": "prompt", "model": settings.azure_ai_model_deployment, "instructions": s.instructions},
        )
        for s in SPECIALISTS
    ]
{%- endif %}


def sync_all(project: AIProjectClient, settings: Settings, check: bool = False,
             cred: TokenCredential | None = None) -> tuple[list[str], bool]:
    """Every agent of this repo, in dependency order: one line per change or check, and whether all were current.

{%- if 'agent' in cookiecutter.tools %}
    Each specialist first (its version, its incoming A2A, its RemoteA2A connection through ARM), then the main
    agent, whose A2A tools name those connections. Anything already right is not written (a re-sync writes nothing).
{%- else %}
    This repo has one agent (the main one); `--tool agent,name=...` at generation adds specialists before it.
{%- endif %}
    """
    lines: list[str] = []
    current = True
{%- if 'agent' in cookiecutter.tools %}
    from azure.core.exceptions import AzureError

    from {{ cookiecutter.package }}.auth import credential as make_credential

    main_name = agent_name(settings)
    if main_name in {s.name for s in SPECIALISTS}:  # before any request: the main agent would overwrite it
        raise SettingsError(
            f"APP_AGENT_NAME={main_name} is also the name of the specialist {main_name} (specialists.py): agent names "
            "are shared by the whole Foundry project, so give the main agent another name"
        )
    project_resource_id(settings)  # the ARM settings are checked before any request
    arm_cred = cred or make_credential(settings)
    for spec, specialist in zip(declared_specialists(settings), SPECIALISTS, strict=True):
        result = sync(project, spec, settings, check=check)
        lines.append(result.describe())
        current = current and result.up_to_date
        if result.version is None:  # --check: the agent does not exist at this version, nothing more to compare
            continue
        try:
            patched = enable_a2a(project, specialist, check=check)
        except AzureError as exc:
            raise project_error(exc, settings) from exc
        if patched is not False:
            lines.append(f"agent {specialist.name}: " + ("incoming A2A enabled (agent card + A2A protocol)"
                                                           if patched else "incoming A2A not enabled yet"))
            current = current and patched is not None
        wrote = ensure_connection(settings, arm_cred, specialist, check=check)
        if wrote is not False:
            lines.append(f"connection {specialist.connection}: " + ("created or updated through ARM (RemoteA2A)"
                                                                    if wrote else "missing or different"))
            current = current and wrote is not None
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}
    if _store_missing(project, settings):  # not an error: the agent works, without file search until then
        lines.append(f"file search: no vector store '{VECTOR_STORE_NAME}' yet, so the agent has no file search: run "
                     "`{{ cookiecutter.project_name }} files add PATH...`, then `agent sync` again")
{%- endif %}
    main = sync(project, declared_agent(settings, project), settings, check=check)
    lines.append(main.describe())
    current = current and main.up_to_date
    return lines, current
{%- if 'file-search' in cookiecutter.tools %}


def _store_missing(project: AIProjectClient, settings: Settings) -> bool:
    """Whether the vector store `files add` fills does not exist yet (the lookup `declared_agent` made, again)."""
    import openai

    try:
        return _lookups(project)[1](VECTOR_STORE_NAME) is None
    except openai.APIStatusError as exc:
        raise status_error(exc.status_code, str(exc).splitlines()[0], settings) from exc
    except openai.OpenAIError as exc:
        raise service_error(exc, settings, settings.azure_ai_project_endpoint.strip()) from exc
{%- endif %}


def project_error(exc: Exception, settings: Settings) -> ServiceError:
    """Translate an azure-core error from the project endpoint into one line naming what to do."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    endpoint = settings.azure_ai_project_endpoint.strip()
    status = getattr(exc, "status_code", None)
    if isinstance(exc, HttpResponseError) and status is not None:
        return status_error(status, _detail(exc), settings)
    if isinstance(exc, ClientAuthenticationError):  # no HTTP status: the credential itself could not get a token
        return service_error(exc, settings, endpoint)
    if isinstance(exc, ServiceRequestError) and not endpoint.lower().startswith("https://"):
        return _not_https(endpoint)
    if isinstance(exc, ServiceRequestError):
        detail = _detail(exc)
        return ServiceError(f"cannot reach {endpoint}: check AZURE_AI_PROJECT_ENDPOINT and your network ({detail})")
    return ServiceError(f"{type(exc).__name__}: {_detail(exc)}")


def status_error(status: int, detail: str, settings: Settings) -> ServiceError:
    """One line for an HTTP error status from the project endpoint (agents, connections or vector stores)."""
    endpoint = settings.azure_ai_project_endpoint.strip()
    if status == 401:
        return ServiceError(
            f"the service rejected the token (401) at {endpoint}: check that you are signed in to the right "
            f"tenant (`az login --tenant ...`). Detail: {detail}",
            status=401,
        )
    if status == 403:
        return ServiceError(
            f"your identity lacks access (403) at {endpoint}: it needs {ROLE} on the project (granted by infra/; "
            "new role assignments can take a few minutes to apply)",
            status=403,
        )
    if status == 404:
        return ServiceError(
            f"not found (404) at {endpoint}: AZURE_AI_PROJECT_ENDPOINT must be the project endpoint "
            f"(https://<account>.services.ai.azure.com/api/projects/<project>). Detail: {detail}",
            status=404,
        )
    if status == 429:
        return ServiceError(
            f"the project endpoint is throttling requests (429) and still was after {settings.app_max_retries} "
            "retries: try again in a moment",
            status=429,
        )
    return ServiceError(f"the project endpoint answered {status}: {detail}", status=status)


def _not_https(endpoint: str) -> ServiceError:
    return ServiceError(
        f"AZURE_AI_PROJECT_ENDPOINT must be an https URL (Entra ID tokens are only sent over TLS): {endpoint}"
    )


def _detail(exc: Exception) -> str:
    message = getattr(getattr(exc, "error", None), "message", None) or str(exc).strip() or type(exc).__name__
    return str(message).splitlines()[0]
