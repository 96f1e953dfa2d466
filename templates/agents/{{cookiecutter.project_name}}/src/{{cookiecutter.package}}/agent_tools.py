"""The hosted tools of the agent, chosen when this repo was generated (`scaffolder new --tool ...`).

Each entry becomes one tool of the agent's definition, in the JSON shape the Agent Service takes
(azure-ai-projects 2.x `PromptAgentDefinition.tools`). The service runs these tools itself; the app only sees
their calls and outputs in the conversation. Connection-backed tools name a project connection: by the name
infra/ gives it (resolved to its ARM id by `agent sync` through the project's connections API), or by the
ARM id of a connection that already exists. No tool holds a key: connections are Entra ID (AAD), and the
SharePoint and Fabric tools run as the signed-in user (identity passthrough).
"""

from __future__ import annotations

{% if 'openapi' in cookiecutter.tools %}import json
{% endif %}import re
from collections.abc import Callable
from dataclasses import dataclass
{%- if 'openapi' in cookiecutter.tools %}
from importlib import resources
from importlib.resources.abc import Traversable
{%- endif %}
{% if 'openapi' in cookiecutter.tools %}from pathlib import Path
{% endif %}from typing import Any

# A project connection's ARM id, as the tools take it (the Learn tool pages' format).
CONNECTION_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+"
    r"/projects/[^/]+/connections/[^/]+",
    re.IGNORECASE,
)
# The tools that run with the end user's identity (On-Behalf-Of): one of each per agent, no app-only tokens.
PASSTHROUGH = ("sharepoint_grounding_preview", "fabric_dataagent_preview")


@dataclass(frozen=True)
class Connection:
    """A project connection a tool uses: `name` (created by infra/) or `id` (an existing connection's ARM id)."""

    name: str = ""
    id: str = ""

    def resolve(self, lookup: Callable[[str], str]) -> str:
        """The ARM id the tool definition carries; `lookup` asks the project for a connection's id by name."""
        return self.id or lookup(self.name)
{% set tools = cookiecutter.tools %}

{% if 'file-search' in tools -%}
# file-search: the vector store of this name (found by name at sync, so no id has to be copied anywhere);
# `files add PATH...` (files.py) creates it on first use and uploads into it.
VECTOR_STORE_NAME = {{ (tools['file-search'].get('store') or (cookiecutter.project_name ~ '-files')) | tojson }}
{% endif -%}
{% if 'ai-search' in tools -%}
# ai-search: an index of the Azure AI Search service behind the connection (Search Index Data Reader for the
# project's managed identity is granted by infra/ when it created or was given the service).
AI_SEARCH = Connection({% if tools['ai-search'].get('connection') %}id={{ tools['ai-search']['connection'] | tojson }}){% if (tools['ai-search']['connection'] | length) > 90 %}  # noqa: E501 (an ARM id){% endif %}{% else %}name="ai-search"){% endif %}
AI_SEARCH_INDEX = {{ tools['ai-search']['index'] | tojson }}
AI_SEARCH_QUERY_TYPE = {{ (tools['ai-search'].get('query_type') or 'simple') | tojson }}
AI_SEARCH_TOP_K = {{ (tools['ai-search'].get('top_k') or '5') | int }}
{% endif -%}

{% if 'sharepoint' in tools -%}
# sharepoint: one site or folder per agent; runs as the signed-in user (identity passthrough).
SHAREPOINT = Connection({% if tools['sharepoint'].get('connection') %}id={{ tools['sharepoint']['connection'] | tojson }}){% if (tools['sharepoint']['connection'] | length) > 90 %}  # noqa: E501 (an ARM id){% endif %}{% else %}name="sharepoint"){% endif %}
{% endif -%}
{% if 'fabric' in tools -%}
# fabric: one published Fabric data agent per agent; runs as the signed-in user (identity passthrough).
FABRIC = Connection({% if tools['fabric'].get('connection') %}id={{ tools['fabric']['connection'] | tojson }}){% if (tools['fabric']['connection'] | length) > 90 %}  # noqa: E501 (an ARM id){% endif %}{% else %}name="fabric"){% endif %}
{% endif -%}
{% if 'mcp' in tools -%}
# mcp: a remote MCP server the service calls; `always` means each call waits for an approval (chat.py).
MCP_SERVER_LABEL = {{ tools['mcp']['label'] | tojson }}
MCP_SERVER_URL = {{ tools['mcp']['url'] | tojson }}
MCP_REQUIRE_APPROVAL = {{ (tools['mcp'].get('approval') or 'always') | tojson }}
MCP_ALLOWED_TOOLS: list[str] = {{ (tools['mcp'].get('allowed_tools') or '').split(';') | reject('equalto', '') | list | tojson }}
{% endif -%}
{% if 'openapi' in tools -%}
# openapi: the operations of an OpenAPI 3 spec kept in this repo; the service calls the API itself.
OPENAPI_NAME = {{ tools['openapi']['name'] | tojson }}
# The spec you edit is openapi/<name>.json of this repo (a checkout or an editable install); an installed wheel
# carries a copy inside the package (pyproject.toml force-include), read when there is no checkout around it.
OPENAPI_SPEC = Path(__file__).resolve().parents[2] / "openapi" / (OPENAPI_NAME + ".json")
OPENAPI_AUTH = {{ (tools['openapi'].get('auth') or 'anonymous') | tojson }}
OPENAPI_AUDIENCE = {{ (tools['openapi'].get('audience') or '') | tojson }}
{% endif %}

def hosted_tools(
    connection_id: Callable[[str], str], vector_store_id: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """The hosted tools' JSON; `connection_id` and `vector_store_id` look names up on the project (sync only)."""
    tools: list[dict[str, Any]] = []
{%- if 'file-search' in tools %}
    store = vector_store_id(VECTOR_STORE_NAME)
    if store is not None:  # no store of that name yet: until there is one, the agent has no file_search tool
        tools.append({"type": "file_search", "vector_store_ids": [store]})
{%- endif %}
{%- if 'code-interpreter' in tools %}
    tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
{%- endif %}
{%- if 'ai-search' in tools %}
    tools.append({"type": "azure_ai_search", "azure_ai_search": {"indexes": [{
        "project_connection_id": AI_SEARCH.resolve(connection_id), "index_name": AI_SEARCH_INDEX,
        "query_type": AI_SEARCH_QUERY_TYPE, "top_k": AI_SEARCH_TOP_K,
    }]}})
{%- endif %}
{%- if 'web-search' in tools %}
    # The Web Search tool: Microsoft runs its Bing resource, so there is no connection and no key. (Grounding with
    # Bing Search needs a connection holding the Bing key; this repo does not generate it.)
    tools.append({"type": "web_search"})
{%- endif %}
{%- if 'sharepoint' in tools %}
    tools.append({"type": "sharepoint_grounding_preview", "sharepoint_grounding_preview": {
        "project_connections": [{"project_connection_id": SHAREPOINT.resolve(connection_id)}]}})
{%- endif %}
{%- if 'fabric' in tools %}
    tools.append({"type": "fabric_dataagent_preview", "fabric_dataagent_preview": {
        "project_connections": [{"project_connection_id": FABRIC.resolve(connection_id)}]}})
{%- endif %}
{%- if 'mcp' in tools %}
    mcp: dict[str, Any] = {"type": "mcp", "server_label": MCP_SERVER_LABEL, "server_url": MCP_SERVER_URL,
                           "require_approval": MCP_REQUIRE_APPROVAL}
    if MCP_ALLOWED_TOOLS:
        mcp["allowed_tools"] = MCP_ALLOWED_TOOLS
    tools.append(mcp)
{%- endif %}
{%- if 'openapi' in tools %}
    tools.append({"type": "openapi", "openapi": openapi_function()})
{%- endif %}
    return tools
{%- if 'openapi' in tools %}


def openapi_spec_file() -> Path | Traversable:
    """The repo's spec when this code runs from a checkout, else the copy an installed wheel carries."""
    if OPENAPI_SPEC.is_file():
        return OPENAPI_SPEC
    packaged = resources.files(__package__ or __name__) / "openapi" / (OPENAPI_NAME + ".json")
    return packaged if packaged.is_file() else OPENAPI_SPEC  # neither: the error names the repo's path


def openapi_function() -> dict[str, Any]:
    """The OpenAPI tool: the spec file's JSON and how the service authenticates to the API (never a key here)."""
    source = openapi_spec_file()
    try:
        spec = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the OpenAPI spec {source}: {exc}") from None
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3."):
        raise ValueError(f"{source} is not an OpenAPI 3 document (no `openapi: 3.x` field)")
    auth: dict[str, Any] = {"type": "anonymous"}
    if OPENAPI_AUTH == "managed-identity":  # the project's managed identity gets a token for the API's audience
        auth = {"type": "managed_identity", "security_scheme": {"audience": OPENAPI_AUDIENCE}}
    description = str(spec.get("info", {}).get("description") or spec.get("info", {}).get("title") or OPENAPI_NAME)
    return {"name": OPENAPI_NAME, "description": description[:1024], "spec": spec, "auth": auth}
{%- endif %}


def check_limits(tools: list[dict[str, Any]]) -> None:
    """The service's documented limits, checked before any request: one SharePoint and one Fabric tool per agent."""
    for kind in PASSTHROUGH:
        if sum(1 for tool in tools if tool.get("type") == kind) > 1:
            raise ValueError(f"an agent takes at most one {kind} tool")
    for tool in tools:
        for value in _connection_ids(tool):
            if not CONNECTION_ID.fullmatch(value):
                raise ValueError(f"{tool['type']}: {value!r} is not the ARM id of a project connection "
                                 "(/subscriptions/.../accounts/<account>/projects/<project>/connections/<name>)")


def _connection_ids(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "project_connection_id"] + [
            found for v in value.values() for found in _connection_ids(v)]
    if isinstance(value, list):
        return [found for v in value for found in _connection_ids(v)]
    return []
