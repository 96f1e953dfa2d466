"""Foundry Agent Service on the fake Foundry, in the wire format azure-ai-projects 2.x and openai 3.x use.

Under the project endpoint {url}/api/projects/<project>:
- agents (azure-ai-projects, `?api-version=v1`): GET agents/{name}, POST/GET agents/{name}/versions,
  GET agents/{name}/versions/{version}; versions are immutable and numbered 1, 2, ...;
- incoming A2A (azure-ai-projects `agents.update_details`): PATCH agents/{name}, a merge-patch of agent_card and
  agent_endpoint (the GET then shows them);
- Azure Resource Manager (at the server's URL, APP_ARM_ENDPOINT, token audience that URL, api-version
  2025-04-01-preview): GET/PUT {project ARM id}/connections/{name}, keyless RemoteA2A connections only; any other
  ARM path answers 404 ParentResourceNotFound, as ARM does for a wrong resource group, account or project;
- the project's OpenAI surface (openai, no api-version): POST openai/v1/conversations,
  GET/DELETE openai/v1/conversations/{id}, POST openai/v1/responses running an agent given as
  `agent_reference` on a conversation that keeps every item (messages, function calls, their outputs).
https only: azure-core refuses to send a bearer token over plain http. Standard library only (the scaffolder's
own suite loads it too), like fake_foundry.py; with the mcp tool, the service's MCP client (tests/fake_mcp.py, which
imports the MCP SDK only when a run uses it) talks to the real SDK server of tests/mcp_server.py.
"""

from __future__ import annotations

import json
import re
{%- if 'mcp' in cookiecutter.tools %}
import ssl
{%- endif %}
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from fake_foundry import Answer, FakeFoundry, ModelOutput, Recorded, Turn, error, fake_model, prompt_filtered, words
{%- if 'mcp' in cookiecutter.tools %}
from fake_mcp import McpUnavailable, call_tool, list_tools
{%- endif %}

TLS = True
# Entra ID audience of the project endpoint and its OpenAI surface, from the docs and the SDK, not from the app:
# azure-ai-projects 2.x requests https://ai.azure.com/.default (AIProjectClient, get_openai_client), and Learn's
# /openai/v1/ examples use the same scope (MicrosoftDocs/azure-ai-docs api-version-lifecycle-content.md).
AUDIENCE = "https://ai.azure.com"
PROJECT = "{{ cookiecutter.project_name }}"
PROJECT_PATH = "/api/projects/" + PROJECT
DEPLOYMENT = "{{ cookiecutter.model_deployment }}"
DEFAULT_AGENT = "{{ cookiecutter.project_name }}"
API_VERSION = "v1"
AGENT = PROJECT_PATH + r"/agents/(?P<name>[^/]+)"
CONVERSATIONS = PROJECT_PATH + "/openai/v1/conversations"
CONNECTIONS = PROJECT_PATH + r"/connections/(?P<name>[^/]+)"
VECTOR_STORES = PROJECT_PATH + "/openai/v1/vector_stores"
FILES = PROJECT_PATH + "/openai/v1/files"
# ARM ids of this fake project and its connections, as the connections API and the agent tools carry them.
ARM_PROJECT = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers/"
               "Microsoft.CognitiveServices/accounts/ai-test/projects/" + PROJECT)
CONNECTION_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+"
    r"/projects/[^/]+/connections/[^/]+", re.IGNORECASE)
# Hosted tools the fake Agent Service accepts, with every field each may carry (anything else is refused, as
# the service refuses unknown fields), from azure-ai-projects 2.x models (PromptAgentDefinition.tools).
TOOL_FIELDS = {
    "function": {"type", "name", "description", "parameters", "strict"},
    "code_interpreter": {"type", "container"},
    "file_search": {"type", "vector_store_ids", "max_num_results", "ranking_options", "filters"},
    "azure_ai_search": {"type", "azure_ai_search"},
    "web_search": {"type", "search_context_size", "user_location", "filters", "external_web_access"},
    "sharepoint_grounding_preview": {"type", "sharepoint_grounding_preview"},
    "fabric_dataagent_preview": {"type", "fabric_dataagent_preview"},
    "mcp": {"type", "server_label", "server_url", "require_approval", "allowed_tools", "headers",
            "project_connection_id", "server_description"},
    "openapi": {"type", "openapi"},
    # azure-ai-projects 2.x A2ATool (A2A 1.0); a2a_preview (A2A 0.3) is not what this app sends.
    "a2a": {"type", "base_url", "agent_card_path", "project_connection_id", "send_credentials_for_agent_card",
            "a2a_version"},
}
# Connection category each connection-backed tool needs (the `type` the connections API reports).
TOOL_CATEGORY = {"azure_ai_search": "CognitiveSearch", "sharepoint_grounding_preview": "Sharepoint",
                 "fabric_dataagent_preview": "MicrosoftFabric", "a2a": "RemoteA2A"}
# Azure Resource Manager, for the RemoteA2A connections `agent sync` writes (Learn agent-to-agent.md REST examples).
# The app asks for a token for APP_ARM_ENDPOINT's own scope (sovereign clouds have their own ARM): this fake's ARM is
# the server itself (APP_ARM_ENDPOINT is its URL), so its ARM routes take tokens for that URL and nothing else.
ARM_API_VERSION = "2025-04-01-preview"
# The connection properties ARM takes for a keyless RemoteA2A connection; anything else is refused (strict).
ARM_CONNECTION_FIELDS = {"category", "authType", "target", "audience", "credentials", "metadata", "group",
                         "isSharedToAll", "sharedUserList", "expiryTime"}
# Keyless authTypes for a RemoteA2A connection (Learn agent-to-agent-authentication.md and the RemoteA2A REST
# examples; UserEntraToken and AgenticIdentityToken as Microsoft's samples name them). Key or secret holders
# (ApiKey, CustomKeys, OAuth2 with a client secret...) are what generated repos never create: refused here.
KEYLESS_AUTH_TYPES = {"UserEntraToken", "AgenticIdentityToken", "ProjectManagedIdentity", "AgenticIdentity"}
# The agent endpoint protocols incoming A2A takes (azure-ai-projects 2.10 ProtocolConfiguration fields).
PROTOCOLS = {"activity", "responses", "a2a", "mcp", "invocations", "invocations_ws"}
SEARCH_QUERY_TYPES = {"simple", "semantic", "vector", "vector_simple_hybrid", "vector_semantic_hybrid"}
MCP_LABEL = re.compile(r"[A-Za-z0-9_-]{1,64}")
RESPONSES = PROJECT_PATH + "/openai/v1/responses"
_AGENT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# The function tools the fake model knows how to call (fake_foundry.fake_model), as an earlier deploy declared them.
SEEDED_TOOLS = [
    {"type": "function", "name": name, "parameters": {"type": "object"}, "strict": False}
    for name in ("get_current_time", "calculate")
]


def app_env(server: FakeFoundry) -> dict[str, str]:
    """Settings that point the app at the fake (the same names azd writes after provisioning)."""
    env = {"AZURE_AI_PROJECT_ENDPOINT": server.url + PROJECT_PATH, "AZURE_AI_MODEL_DEPLOYMENT": DEPLOYMENT}
{%- if cookiecutter.agents %}
    # The project's ARM id parts (ARM_PROJECT) and ARM itself, for the specialists' A2A connections.
    env.update({"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000", "AZURE_RESOURCE_GROUP": "rg-test",
                "AZURE_AI_ACCOUNT_NAME": "ai-test", "AZURE_AI_PROJECT_NAME": PROJECT, "APP_ARM_ENDPOINT": server.url})
{%- endif %}
    return env


@dataclass
class Conversation:
    id: str
    turns: list[Turn] = field(default_factory=list)
    created_at: int = field(default_factory=lambda: int(time.time()))


class AgentService:
    """Agents, conversations and agent runs, kept in memory like the service keeps them."""

    def __init__(self) -> None:
        self.agents: dict[str, list[dict[str, Any]]] = {}  # name -> versions, oldest first
        self.conversations: dict[str, Conversation] = {}
        self.deployments = {DEPLOYMENT}
        self.connections: dict[str, dict[str, Any]] = {}  # name -> connection, as GET connections/{name} returns
        self.vector_stores: dict[str, dict[str, Any]] = {}  # id -> vector store
        self.files: dict[str, dict[str, Any]] = {}  # file id -> file object (+ "content")
        self.store_files: dict[str, dict[str, dict[str, Any]]] = {}  # store id -> file id -> vector store file
        self.endpoint = ""  # the project endpoint, once installed on a server
        self.polls_until_indexed = 2  # GETs of a vector store file answered in_progress before it completes
        self.max_file_bytes = 512 * 1024 * 1024  # the service's per-file limit; tests lower it
        self.mcp_calls: list[dict[str, Any]] = []  # MCP calls the service made (after any approval)
{%- if 'mcp' in cookiecutter.tools %}
        self.mcp_tls: ssl.SSLContext | bool = True  # what the service's MCP client trusts (tests: the test CA)
{%- endif %}
        self.agent_details: dict[str, dict[str, Any]] = {}  # name -> {agent_card, agent_endpoint} (incoming A2A)
        self.arm_connections: dict[str, dict[str, Any]] = {}  # name -> ARM connection resource (PUT through ARM)
        self.a2a_calls: list[dict[str, Any]] = []  # specialist runs the A2A tool made: {agent, input}
        # When True, GETs answer with fields the service fills in itself on top of what was PATCHed or PUT (card
        # defaults, endpoint defaults, ARM connection metadata and flags), as the live service may: a re-sync must
        # still write nothing (`agent sync` compares only what it sets).
        self.fills_defaults = False

    def install(self, server: FakeFoundry) -> None:
        self.endpoint = server.url + PROJECT_PATH
        server.route("GET", AGENT, self._versioned(lambda _req, m: self.get_agent(m["name"])))
        server.route("POST", AGENT + "/versions", self._versioned(lambda req, m: self.create_version(m["name"], req)))
        server.route("GET", AGENT + "/versions", self._versioned(lambda req, m: self.list_versions(m["name"], req)))
        server.route("GET", AGENT + r"/versions/(?P<version>[^/]+)",
                     self._versioned(lambda _req, m: self.get_version(m["name"], m["version"])))
        server.route("POST", CONVERSATIONS, lambda req, _m: self.create_conversation(req.body or {}))
        server.route("GET", CONVERSATIONS + r"/(?P<id>[^/]+)", lambda _req, m: self.get_conversation(m["id"]))
        server.route("DELETE", CONVERSATIONS + r"/(?P<id>[^/]+)", lambda _req, m: self.delete_conversation(m["id"]))
        server.route("GET", CONVERSATIONS + r"/(?P<id>[^/]+)/items", lambda req, m: self.list_items(m["id"], req))
        server.route("POST", RESPONSES, lambda req, _m: self.respond(req.body or {}))
        server.route("GET", CONNECTIONS, self._versioned(lambda _req, m: self.get_connection(m["name"])))
        server.route("GET", PROJECT_PATH + "/connections",
                     self._versioned(lambda _req, _m: Answer(200, {"value": list(self.connections.values())})))
        server.route("GET", VECTOR_STORES, lambda _req, _m: self.list_vector_stores())
        server.route("POST", VECTOR_STORES, lambda req, _m: self.create_store(req.body))
        server.route("GET", VECTOR_STORES + r"/(?P<store>vs_\w+)", lambda _req, m: self.get_store(m["store"]))
        server.route("POST", VECTOR_STORES + r"/(?P<store>vs_\w+)/files",
                     lambda req, m: self.add_store_file(m["store"], req.body or {}))
        server.route("GET", VECTOR_STORES + r"/(?P<store>vs_\w+)/files/(?P<file>[\w-]+)",
                     lambda _req, m: self.get_store_file(m["store"], m["file"]))
        server.route("POST", FILES, lambda req, _m: self.upload(req))
        server.route("PATCH", AGENT, self._versioned(lambda req, m: self.patch_agent(m["name"], req)))
        arm_connection = re.escape(ARM_PROJECT) + r"/connections/(?P<name>[^/]+)"
        server.route("GET", arm_connection, lambda req, m: self.arm_get_connection(m["name"], req), server.url)
        server.route("PUT", arm_connection, lambda req, m: self.arm_put_connection(m["name"], req), server.url)
        for method in ("GET", "PUT"):
            server.route(method, r"/subscriptions/[^/]+/resourceGroups/.+", lambda req, _m: error(
                404, "ParentResourceNotFound", f"Can not perform requested operation on nested resource. Parent "
                f"resource '{req.path.rsplit('/connections/', 1)[0]}' not found."), server.url)

    # -- connections and vector stores -----------------------------------------------------------------------
    def add_connection(self, name: str, category: str, target: str, arm_id: str = "") -> dict[str, Any]:
        """A project connection as infra/ creates it: Entra ID auth, no credentials stored."""
        connection = {"name": name, "id": arm_id or f"{ARM_PROJECT}/connections/{name}", "type": category,
                      "target": target,
                      "isDefault": False, "credentials": {"type": "AAD"}, "metadata": {}}
        self.connections[name] = connection
        return connection

    def get_connection(self, name: str) -> Answer:
        connection = self.connections.get(name)
        if connection is None:
            return error(404, "NotFound", f"Connection '{name}' not found.")
        return Answer(200, connection)

    def add_vector_store(self, name: str, store_id: str = "") -> dict[str, Any]:
        store_id = store_id or "vs_" + uuid.uuid4().hex[:12]
        store: dict[str, Any] = {"id": store_id, "object": "vector_store", "name": name,
                 "created_at": int(time.time()), "status": "completed", "usage_bytes": 0,
                 "file_counts": {"in_progress": 0, "completed": 1, "failed": 0, "cancelled": 0, "total": 1},
                 "metadata": {}, "last_active_at": None}
        self.vector_stores[store_id] = store
        return store

    def upload(self, req: Recorded) -> Answer:
        """POST files (multipart: purpose, file), as the service takes it."""
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return error(400, "invalid_request_error", "Expected multipart/form-data.")
        message = BytesParser(policy=HTTP).parsebytes(b"content-type: " + ctype.encode() + b"\r\n\r\n" + req.raw)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
        if fields.get("purpose", (None, b""))[1] != b"assistants":
            return error(400, "invalid_request_error", "purpose must be 'assistants' for file_search.")
        if "file" not in fields or not fields["file"][0]:
            return error(400, "invalid_request_error", "Missing file.")
        filename, content = fields["file"]
        if len(content) > self.max_file_bytes:
            return error(413, "file_too_large", f"File {filename} is {len(content)} bytes; the limit is "
                         f"{self.max_file_bytes} bytes.")
        file_id = "assistant-" + uuid.uuid4().hex[:24]
        entry = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                 "filename": filename, "purpose": "assistants", "status": "processed"}
        self.files[file_id] = {**entry, "content": content}
        return Answer(200, entry)

    def create_store(self, body: Any) -> Answer:
        unknown = set(body or {}) - {"name", "file_ids", "expires_after", "chunking_strategy", "metadata"}
        if not isinstance(body, dict) or unknown:
            return error(400, "invalid_request_error", f"Unknown parameter(s): {sorted(unknown)}.")
        store = self.add_vector_store(str(body.get("name") or ""))
        store["file_counts"] = {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}
        return Answer(200, store)

    def get_store(self, store_id: str) -> Answer:
        if store_id not in self.vector_stores:
            return error(404, "not_found", f"Vector store {store_id!r} not found.")
        return Answer(200, self.vector_stores[store_id])

    def add_store_file(self, store_id: str, body: dict[str, Any]) -> Answer:
        if store_id not in self.vector_stores:
            return error(404, "not_found", f"Vector store {store_id!r} not found.")
        file_id = body.get("file_id")
        if file_id not in self.files:
            return error(404, "not_found", f"File {file_id!r} not found.")
        entry = {"id": file_id, "object": "vector_store.file", "created_at": int(time.time()), "usage_bytes": 0,
                 "vector_store_id": store_id, "status": "in_progress", "last_error": None, "polls": 0}
        self.store_files.setdefault(store_id, {})[file_id] = entry
        return Answer(200, _public(entry))

    def get_store_file(self, store_id: str, file_id: str) -> Answer:
        entry = self.store_files.get(store_id, {}).get(file_id)
        if entry is None:
            return error(404, "not_found", f"File {file_id!r} is not in vector store {store_id!r}.")
        entry["polls"] += 1
        if entry["status"] == "in_progress" and entry["polls"] >= self.polls_until_indexed:
            if self.files[file_id]["filename"].endswith(".bin"):
                entry["status"] = "failed"
                entry["last_error"] = {"code": "unsupported_file", "message": "Files with extension .bin are not "
                                       "supported for retrieval."}
            else:
                entry["status"] = "completed"
                entry["usage_bytes"] = self.files[file_id]["bytes"]
        return Answer(200, _public(entry), headers={"openai-poll-after-ms": "5"})

    def list_vector_stores(self) -> Answer:
        data = list(self.vector_stores.values())
        return Answer(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                            "last_id": data[-1]["id"] if data else None, "has_more": False})

    def _connection_problem(self, tool_type: str, value: Any) -> str | None:
        """Why a tool's project_connection_id is refused: not an ARM id, unknown, or of the wrong category."""
        if not isinstance(value, str) or not CONNECTION_ID.fullmatch(value):
            return f"{tool_type}: project_connection_id must be a connection's ARM id, got {value!r}."
        known = {c["id"]: c for c in self.connections.values()}
        if value not in known:
            return f"{tool_type}: connection {value} not found in this project."
        wanted = TOOL_CATEGORY.get(tool_type)
        if wanted and known[value]["type"] != wanted:
            return f"{tool_type}: connection {value} is a {known[value]['type']} connection, not {wanted}."
        return None

    def a2a_agent(self, target: str) -> str | None:
        """The agent of this project an A2A endpoint URL names (None: not one of this project's)."""
        match = re.fullmatch(re.escape(self.endpoint) + r"/agents/(?P<agent>[^/]+)/endpoint/protocols/a2a", target)
        return match["agent"] if match and match["agent"] in self.agents else None

    def hosted_run(self, transcript: list[Turn], definition: dict[str, Any]) -> HostedRun | None:
        return _hosted_run_for(self, transcript, definition)

    def tool_problem(self, tool: dict[str, Any]) -> str | None:
        """Why the service would refuse this tool definition (None: it is accepted)."""
        kind = tool.get("type")
        if kind not in TOOL_FIELDS:
            return f"Unsupported tool type {kind!r}."
        if extra := set(tool) - TOOL_FIELDS[kind]:
            return f"{kind}: unknown field(s) {sorted(extra)}."
        if kind == "function" and not (tool.get("name") and isinstance(tool.get("parameters"), dict)):
            return "function tools need a name and parameters."
        if kind == "file_search":
            ids = tool.get("vector_store_ids")
            if not (isinstance(ids, list) and ids and all(i in self.vector_stores for i in ids)):
                return f"file_search: unknown vector store(s) {ids!r}."
        if kind == "azure_ai_search":
            indexes = (tool.get("azure_ai_search") or {}).get("indexes")
            if not (isinstance(indexes, list) and len(indexes) == 1):
                return "azure_ai_search: exactly one index is supported."
            index = indexes[0]
            if not index.get("index_name") or index.get("query_type", "simple") not in SEARCH_QUERY_TYPES:
                return "azure_ai_search: index_name is required and query_type must be a known type."
            return self._connection_problem(kind, index.get("project_connection_id"))
        if kind == "web_search" and tool.get("search_context_size", "medium") not in ("low", "medium", "high"):
            return "web_search: search_context_size must be low, medium or high."
        if kind in ("sharepoint_grounding_preview", "fabric_dataagent_preview"):
            connections = (tool.get(kind) or {}).get("project_connections")
            if not (isinstance(connections, list) and len(connections) == 1):
                return f"{kind}: exactly one project connection is supported."
            return self._connection_problem(kind, connections[0].get("project_connection_id"))
        if kind == "mcp":
            if not MCP_LABEL.fullmatch(str(tool.get("server_label", ""))):
                return "mcp: server_label is required (letters, digits, '-' and '_')."
            if not str(tool.get("server_url", "")).startswith("https://"):
                return "mcp: server_url must be an https URL."
            if tool.get("require_approval", "always") not in ("always", "never"):
                return "mcp: require_approval must be 'always' or 'never'."
            if "project_connection_id" in tool:
                return self._connection_problem(kind, tool["project_connection_id"])
        if kind == "a2a":
            if tool.get("a2a_version") != "1.0":
                return "a2a: a2a_version '1.0' is required (a2a_preview is the A2A 0.3 tool)."
            if problem := self._connection_problem(kind, tool.get("project_connection_id")):
                return problem
            connection = next(c for c in self.connections.values() if c["id"] == tool["project_connection_id"])
            agent = self.a2a_agent(connection["target"])
            if agent is None or not self.a2a_enabled(agent):
                return f"a2a: {connection['target']} is not the A2A endpoint of an agent with incoming A2A enabled."
        if kind == "openapi":
            function = tool.get("openapi") or {}
            spec, auth = function.get("spec"), function.get("auth") or {}
            is_openapi3 = isinstance(spec, dict) and str(spec.get("openapi", "")).startswith("3.")
            if not function.get("name") or not is_openapi3:
                return "openapi: a name and an OpenAPI 3 spec are required."
            if auth.get("type") not in ("anonymous", "managed_identity", "project_connection"):
                return f"openapi: unknown auth type {auth.get('type')!r}."
            if auth["type"] == "managed_identity" and not (auth.get("security_scheme") or {}).get("audience"):
                return "openapi: managed_identity auth needs security_scheme.audience."
        return None

    # -- agents ----------------------------------------------------------------------------------------------
    @staticmethod
    def _versioned(handler: Any) -> Any:
        """The project's data-plane operations require ?api-version=v1, as azure-ai-projects sends it."""
        def route(req: Recorded, match: re.Match[str]) -> Answer:
            if req.query.get("api-version") != [API_VERSION]:
                return error(400, "BadRequest", f"api-version {API_VERSION} is required")
            return handler(req, match)  # type: ignore[no-any-return]
        return route

    def latest(self, name: str) -> dict[str, Any] | None:
        versions = self.agents.get(name)
        return versions[-1] if versions else None

    def seed(self, name: str = DEFAULT_AGENT, instructions: str = "You are a helpful assistant.") -> dict[str, Any]:
        """An agent version made before the tests ran (by a deploy or the portal): no fingerprint in its metadata."""
        definition = {"kind": "prompt", "model": DEPLOYMENT, "instructions": instructions, "tools": SEEDED_TOOLS}
        return self._add_version(name, {"definition": definition, "description": "created in the portal"})

    def _add_version(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        versions = self.agents.setdefault(name, [])
        number = str(len(versions) + 1)
        version = {
            "object": "agent.version", "id": f"{name}:{number}", "name": name, "version": number,
            "description": body.get("description"), "metadata": body.get("metadata") or {},
            "created_at": int(time.time()), "definition": body["definition"], "status": "active",
        }
        versions.append(version)
        return version

    def get_agent(self, name: str) -> Answer:
        latest = self.latest(name)
        if latest is None:
            return error(404, "NotFound", f"Agent '{name}' not found.")
        details = self.agent_details.get(name, {})
        if self.fills_defaults:
            details = self._with_defaults(details)
        return Answer(200, {"object": "agent", "id": name, "name": name, "state": "enabled",
                            "configuration_state": "enabled", "versions": {"latest": latest}, **details})

    @staticmethod
    def _with_defaults(details: dict[str, Any]) -> dict[str, Any]:
        """The agent's card and endpoint with fields a service fills in (A2A card defaults, endpoint defaults)."""
        out = dict(details)
        if card := details.get("agent_card"):
            out["agent_card"] = {**card, "capabilities": {"streaming": True}, "default_input_modes": ["text"],
                                 "skills": [{**k, "tags": k.get("tags", [])} for k in card["skills"]]}
        if endpoint := details.get("agent_endpoint"):
            out["agent_endpoint"] = {**endpoint, "version_selector": {"type": "latest"},
                                     "authorization_schemes": [{"type": "Entra"}]}
        return out

    # -- incoming A2A and ARM connections --------------------------------------------------------------------
    def patch_agent(self, name: str, req: Recorded) -> Answer:
        """A merge-patch of the agent's card and endpoint (azure-ai-projects `agents.update_details`)."""
        if self.latest(name) is None:
            return error(404, "NotFound", f"Agent '{name}' not found.")
        if not req.headers.get("content-type", "").startswith("application/merge-patch+json"):
            return error(415, "UnsupportedMediaType", "Content-Type application/merge-patch+json is required.")
        body = req.body if isinstance(req.body, dict) else {}
        if not body or set(body) - {"agent_card", "agent_endpoint"}:
            return error(400, "invalid_request_error", f"unknown or missing field(s): {sorted(body)}")
        details = self.agent_details.setdefault(name, {})
        if "agent_card" in body:
            card = body["agent_card"]
            skills = card.get("skills") if isinstance(card, dict) else None
            if (not isinstance(card, dict) or set(card) - {"version", "description", "skills"}
                    or not isinstance(card.get("version"), str) or not isinstance(skills, list) or not skills
                    or any(not isinstance(k, dict) or not k.get("id") or not k.get("name")
                           or set(k) - {"id", "name", "description", "tags", "examples"} for k in skills)):
                return error(400, "invalid_request_error", "agent_card: version and skills [{id, name}] required.")
            details["agent_card"] = card
        if "agent_endpoint" in body:
            endpoint = body["agent_endpoint"]
            protocols = endpoint.get("protocol_configuration") if isinstance(endpoint, dict) else None
            if (not isinstance(protocols, dict) or set(endpoint) - {"protocol_configuration", "version_selector",
                                                                     "authorization_schemes"}
                    or set(protocols) - PROTOCOLS):
                return error(400, "invalid_request_error", "agent_endpoint.protocol_configuration is required.")
            if "a2a" in protocols and "responses" not in protocols:
                return error(400, "invalid_request_error", "incoming A2A requires the responses protocol.")
            details["agent_endpoint"] = endpoint
        return self.get_agent(name)

    def a2a_enabled(self, name: str) -> bool:
        details = self.agent_details.get(name, {})
        protocols = (details.get("agent_endpoint") or {}).get("protocol_configuration") or {}
        return "a2a" in protocols and bool(details.get("agent_card"))

    def arm_get_connection(self, name: str, req: Recorded) -> Answer:
        if req.query.get("api-version") != [ARM_API_VERSION]:
            return error(400, "InvalidApiVersionParameter", f"api-version {ARM_API_VERSION} is required")
        found = self.arm_connections.get(name)
        if found is None:
            return error(404, "ResourceNotFound", f"Connection '{name}' not found.")
        if self.fills_defaults:  # ARM's own fields, its casing of values, and metadata the service adds
            props = found["properties"]
            found = {**found, "systemData": {"createdByType": "User"}, "properties": {
                **props, "authType": props["authType"].upper(), "target": props["target"] + "/",
                "isSharedToAll": False, "peRequirement": "NotRequired", "useWorkspaceManagedIdentity": False,
                "metadata": {**props.get("metadata", {}), "ApiVersion": "1.0", "type": "a2a"}}}
        return Answer(200, found)

    def arm_put_connection(self, name: str, req: Recorded) -> Answer:
        """Create or replace a project connection: a keyless RemoteA2A one (the only kind this repo makes)."""
        if req.query.get("api-version") != [ARM_API_VERSION]:
            return error(400, "InvalidApiVersionParameter", f"api-version {ARM_API_VERSION} is required")
        body = req.body if isinstance(req.body, dict) else {}
        props = body.get("properties")
        if set(body) - {"properties"} or not isinstance(props, dict):
            return error(400, "InvalidRequestContent", f"only `properties` is accepted, got {sorted(body)}")
        if extra := set(props) - ARM_CONNECTION_FIELDS:
            return error(400, "InvalidRequestContent", f"unknown connection properties {sorted(extra)}")
        if props.get("category") != "RemoteA2A":
            return error(400, "InvalidRequestContent", f"this fake takes RemoteA2A connections, got "
                                                       f"{props.get('category')!r}")
        if props.get("authType") not in KEYLESS_AUTH_TYPES or props.get("credentials"):
            return error(400, "InvalidRequestContent", f"authType {props.get('authType')!r} with credentials "
                                                       f"{props.get('credentials')!r}: a key-holding connection")
        target = str(props.get("target", ""))
        match = re.fullmatch(re.escape(self.endpoint) + r"/agents/(?P<agent>[^/]+)/endpoint/protocols/a2a", target)
        if match is None or props.get("audience") != AUDIENCE:
            return error(400, "InvalidRequestContent", f"target must be an agent's A2A endpoint of this project and "
                                                       f"audience {AUDIENCE}: {target!r}, {props.get('audience')!r}")
        arm_id = f"{ARM_PROJECT}/connections/{name}"
        created = name not in self.arm_connections
        stored = {k: v for k, v in props.items() if k != "credentials"}  # ARM never returns credentials
        self.arm_connections[name] = {"id": arm_id, "name": name,
                                      "type": "Microsoft.CognitiveServices/accounts/projects/connections",
                                      "properties": {**stored, "group": "ServicesAndApps"}}
        self.add_connection(name, "RemoteA2A", target, arm_id)
        return Answer(201 if created else 200, self.arm_connections[name])

    def forget_agents(self) -> None:
        """No agent of this repo's own yet (as before its first `agent sync`); its specialists stay, as the tests of
        the main agent need them (tests/test_specialists.py starts from nothing instead)."""
        self.agents.clear()
        for specialist in SPECIALISTS:
            self.add_specialist(*specialist)

    def add_specialist(self, name: str, instructions: str, connection: str) -> None:
        """A specialist as an earlier `agent sync` left it: a version, incoming A2A on, its RemoteA2A connection."""
        self._add_version(name, {"definition": {"kind": "prompt", "model": DEPLOYMENT, "instructions": instructions},
                                 "description": "specialist"})
        self.agent_details[name] = {
            "agent_card": {"version": "1.0", "skills": [{"id": name, "name": name}]},
            "agent_endpoint": {"protocol_configuration": {"responses": {}, "a2a": {}}},
        }
        target = f"{self.endpoint}/agents/{name}/endpoint/protocols/a2a"
        self.arm_connections[connection] = {
            "id": f"{ARM_PROJECT}/connections/{connection}", "name": connection,
            "type": "Microsoft.CognitiveServices/accounts/projects/connections",
            "properties": {"category": "RemoteA2A", "authType": "UserEntraToken", "target": target,
                           "audience": AUDIENCE, "metadata": {}, "group": "ServicesAndApps"}}
        self.add_connection(connection, "RemoteA2A", target, f"{ARM_PROJECT}/connections/{connection}")

    def create_version(self, name: str, req: Recorded) -> Answer:
        body = req.body or {}
        if not _AGENT_NAME.fullmatch(name):
            return error(400, "invalid_request_error", f"Invalid agent name '{name}'.")
        definition = body.get("definition")
        if not isinstance(definition, dict) or definition.get("kind") != "prompt":
            return error(400, "invalid_request_error", "definition with kind 'prompt' is required.")
        if definition.get("model") not in self.deployments:
            return error(400, "invalid_request_error", f"Model deployment '{definition.get('model')}' not found.")
        tools = definition.get("tools") or []
        for tool in tools:
            if problem := self.tool_problem(tool):
                return error(400, "invalid_request_error", problem)
        for once in ("sharepoint_grounding_preview", "fabric_dataagent_preview"):  # documented: one per agent
            if sum(1 for tool in tools if tool.get("type") == once) > 1:
                return error(400, "invalid_request_error", f"Only one {once} tool is supported per agent.")
        metadata = body.get("metadata") or {}
        if len(metadata) > 16 or any(len(k) > 64 or len(str(v)) > 512 for k, v in metadata.items()):
            return error(400, "invalid_request_error", "metadata: at most 16 keys of 64 chars, values of 512 chars.")
        return Answer(200, self._add_version(name, body))

    def list_versions(self, name: str, req: Recorded) -> Answer:
        versions = list(self.agents.get(name, []))
        if req.query.get("order", ["desc"])[0] == "desc":
            versions.reverse()
        limit = int(req.query.get("limit", ["20"])[0])
        page = versions[:limit]
        # last_id is None on the last page: the SDK's pager keeps asking for `after=<last_id>` otherwise.
        return Answer(200, {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                            "last_id": None, "has_more": False})

    def get_version(self, name: str, version: str) -> Answer:
        for entry in self.agents.get(name, []):
            if entry["version"] == version:
                return Answer(200, entry)
        return error(404, "NotFound", f"Agent '{name}' version '{version}' not found.")

    # -- conversations ---------------------------------------------------------------------------------------
    def create_conversation(self, body: dict[str, Any]) -> Answer:
        conversation = Conversation("conv_" + uuid.uuid4().hex)
        try:
            conversation.turns = _input_turns(body.get("items") or [], [])
        except ValueError as exc:
            return error(400, "invalid_request_error", str(exc))
        self.conversations[conversation.id] = conversation
        return Answer(200, _conversation_object(conversation))

    def get_conversation(self, conversation_id: str) -> Answer:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return error(404, "not_found", f"Conversation with id '{conversation_id}' not found.")
        return Answer(200, _conversation_object(conversation))

    def delete_conversation(self, conversation_id: str) -> Answer:
        if self.conversations.pop(conversation_id, None) is None:
            return error(404, "not_found", f"Conversation with id '{conversation_id}' not found.")
        return Answer(200, {"id": conversation_id, "object": "conversation.deleted", "deleted": True})

    def list_items(self, conversation_id: str, req: Recorded) -> Answer:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return error(404, "not_found", f"Conversation with id '{conversation_id}' not found.")
        items = [_item(turn) for turn in conversation.turns]
        if req.query.get("order", ["desc"])[0] == "desc":
            items.reverse()
        page = items[: int(req.query.get("limit", ["20"])[0])]
        return Answer(200, {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                            "last_id": page[-1]["id"] if page else None, "has_more": len(page) < len(items)})

    # -- agent runs ------------------------------------------------------------------------------------------
    def respond(self, body: dict[str, Any]) -> Answer:
        reference = body.get("agent_reference")
        if not isinstance(reference, dict) or reference.get("type") != "agent_reference" or not reference.get("name"):
            return error(400, "invalid_request_error", "agent_reference {name, type: 'agent_reference'} is required.")
        if "model" in body:
            return error(400, "invalid_request_error", "the agent sets the model: do not send one too.")
        if "previous_response_id" in body:
            return error(400, "invalid_request_error", "previous_response_id cannot be used with conversation.")
        name = reference["name"]
        versions = self.agents.get(name, [])
        wanted = reference.get("version")
        agent = next((v for v in reversed(versions) if wanted in (None, v["version"])), None)
        if agent is None:
            return error(404, "not_found", f"Agent '{name}' not found.")
        conversation_id = body.get("conversation")
        if isinstance(conversation_id, dict):
            conversation_id = conversation_id.get("id")
        conversation = self.conversations.get(str(conversation_id))
        if conversation is None:
            return error(404, "not_found", f"Conversation with id '{conversation_id}' not found.")
        try:
            new_turns = _input_turns(body.get("input"), conversation.turns)
        except ValueError as exc:
            return error(400, "invalid_request_error", str(exc))
        if new_turns and (refused := prompt_filtered(new_turns[-1].text)):
            return refused
        definition = agent["definition"]
        tools = {t["name"] for t in definition.get("tools") or [] if t.get("type") == "function"}
{%- if 'mcp' in cookiecutter.tools %}
        try:
            hosted = self.hosted_run(conversation.turns + new_turns, definition)
        except McpUnavailable as exc:  # the service could not use the MCP server: the run fails, nothing is kept
            label = next(t["server_label"] for t in definition["tools"] if t["type"] == "mcp")
            return error(424, "external_connector_error", f"Error retrieving tool list from MCP server: '{label}'. "
                         + (f"Http status code: {exc.status}" if exc.status else f"{exc}"))
{%- else %}
        hosted = self.hosted_run(conversation.turns + new_turns, definition)
{%- endif %}
        output = hosted.output if hosted else _agent_model(conversation.turns + new_turns, tools, definition)
        items = hosted.items if hosted else []
        response = _response(conversation.id, agent, output, items, hosted.citations if hosted else [])
        # Only a run adds to the conversation: a refused request leaves it as it was. A run the network cut after
        # this point is on the service all the same (the fake's stream faults act on the wire).
        conversation.turns += new_turns + [_hosted_turn(item) for item in items]
        conversation.turns += [Turn("assistant", output.text)] if output.text else []
        conversation.turns += [
            Turn("tool_call", json.dumps(c.arguments), name=c.name, call_id=c.call_id) for c in output.calls
        ]
        if body.get("stream"):
            return Answer(200, response, events=_events(response))
        return Answer(200, response)


@dataclass
class HostedRun:
    """What the service's own tools did in one run: output items, then the model's text and its citations."""

    output: ModelOutput
    items: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)


# Phrases that make the fake model use a hosted tool, when the agent's definition has it.
SEARCH_INDEX, SEARCH_WEB = "search the index", "search the web"
ASK_SHAREPOINT, ASK_FABRIC = "ask sharepoint", "ask fabric"
USE_MCP, CALL_API, SEARCH_FILES, RUN_CODE = "use the mcp server", "call the api", "search my files", "run code"


def _hosted_run_for(service: AgentService, transcript: list[Turn], definition: dict[str, Any]) -> HostedRun | None:
    """The fake model with the agent's hosted tools: the service runs them, the app only sees the items."""
    tools = {t["type"]: t for t in definition.get("tools") or []}
    last = transcript[-1] if transcript else Turn("user")
    if last.role == "approval_response":  # the app answered an MCP approval request: run or skip the call
        request = next(t for t in transcript if t.role == "approval" and t.call_id == last.call_id)
        if last.text != "true":
            return HostedRun(ModelOutput(f"The call to {request.name} was not approved, so I did not run it."))
{%- if 'mcp' in cookiecutter.tools %}
        return _mcp_run(service, tools["mcp"], request.name, request.text, request.call_id)
{%- else %}
        return HostedRun(ModelOutput("The MCP tool is no longer offered."))
{%- endif %}
    if last.role != "user":
        return None
    text = last.text.lower()
    topic = last.text.split(" for ", 1)[-1].rstrip("?.! ") if " for " in last.text else last.text
    if SEARCH_INDEX in text and "azure_ai_search" in tools:
        index = tools["azure_ai_search"]["azure_ai_search"]["indexes"][0]["index_name"]
        call: dict[str, Any] = {
            "type": "azure_ai_search_call", "id": "ais_" + uuid.uuid4().hex[:12],
            "call_id": "call_" + uuid.uuid4().hex[:8], "arguments": json.dumps({"query": topic}),
            "output": f"1 document in {index}", "status": "completed"}
        return HostedRun(ModelOutput(f"The index says {topic} is in the handbook."), [call],
                         [_url_citation("handbook.pdf", f"https://search.example/{index}/handbook.pdf")])
    if SEARCH_WEB in text and "web_search" in tools:
        call = {"type": "web_search_call", "id": "ws_" + uuid.uuid4().hex[:12], "status": "completed",
                "action": {"type": "search", "query": topic}}
        return HostedRun(ModelOutput(f"The web says {topic} happened today."), [call],
                         [_url_citation("News", "https://news.example/today")])
    if ASK_SHAREPOINT in text and "sharepoint_grounding_preview" in tools:
        return HostedRun(ModelOutput(f"The policy site covers {topic}."), [],
                         [_url_citation("Policy.docx", "https://contoso.sharepoint.com/sites/policies/Policy.docx")])
    if ASK_FABRIC in text and "fabric_dataagent_preview" in tools:
        return HostedRun(ModelOutput(f"The sales data shows 12 orders for {topic}."))
{%- if 'mcp' in cookiecutter.tools %}
    if USE_MCP in text and "mcp" in tools:
        mcp = tools["mcp"]
        # The service lists the server's tools first, with what the definition sends (no headers on this runtime).
        listed = [t["name"] for t in list_tools(mcp, service.mcp_tls)]
        if MCP_TOOL not in listed:
            return HostedRun(ModelOutput(f"The {mcp['server_label']} server offers no {MCP_TOOL} tool "
                                         f"(offered: {', '.join(listed) or 'none'})."))
        arguments = json.dumps({"topic": topic})
        if mcp.get("require_approval", "always") == "always":
            approval = {"type": "mcp_approval_request", "id": "mcpr_" + uuid.uuid4().hex[:12],
                        "server_label": mcp["server_label"], "name": MCP_TOOL, "arguments": arguments}
            return HostedRun(ModelOutput(""), [approval])
        return _mcp_run(service, mcp, MCP_TOOL, arguments, None)
{%- endif %}
    ask = re.search(r"ask the ([a-z0-9-]+) specialist", text)
    calls = [t for t in definition.get("tools") or [] if t.get("type") == "a2a"]
    if ask and calls:
        for tool in calls:
            connection = next(c for c in service.connections.values() if c["id"] == tool["project_connection_id"])
            if service.a2a_agent(connection["target"]) != ask[1]:
                continue
            specialist = service.latest(ask[1]) or {}
            answer = f"{ask[1]} here: {specialist['definition'].get('instructions', '')}"
            service.a2a_calls.append({"agent": ask[1], "input": last.text})
            call = {"type": "remote_function_call", "id": "rfc_" + uuid.uuid4().hex[:12],
                    "call_id": "call_" + uuid.uuid4().hex[:8], "label": connection["name"], "status": "completed",
                    "output": answer}
            return HostedRun(ModelOutput(f"The {ask[1]} specialist says: {answer}"), [call])
    if CALL_API in text and "openapi" in tools:
        name = tools["openapi"]["openapi"]["name"]
        return HostedRun(ModelOutput(f"The {name} API answered: ok"))
    if SEARCH_FILES in text and "file_search" in tools:
        call = {"type": "file_search_call", "id": "fs_" + uuid.uuid4().hex[:12], "status": "completed",
                "queries": [topic], "results": None}
        return HostedRun(ModelOutput(f"Your files say {topic} is on page 3."), [call],
                         [{"type": "file_citation", "file_id": "file_1", "filename": "guide.pdf", "index": 0}])
    if RUN_CODE in text and "code_interpreter" in tools:
        call = {"type": "code_interpreter_call", "id": "ci_" + uuid.uuid4().hex[:12], "status": "completed",
                "code": "print(6*7)", "container_id": "cntr_1", "outputs": [{"type": "logs", "logs": "42"}]}
        return HostedRun(ModelOutput("The code printed 42."), [call])
    return None


{%- if 'mcp' in cookiecutter.tools %}


# The tool the fake model calls on the agent's MCP server: tests/mcp_server.py's lookup (topic).
MCP_TOOL = "lookup"


def _mcp_run(service: AgentService, mcp: dict[str, Any], name: str, arguments: str,
             approval_id: str | None) -> HostedRun:
    """Call the tool on the real server, as the service does; the model reads its output or its error."""
    label = mcp["server_label"]
    output, failed = call_tool(mcp, name, json.loads(arguments), service.mcp_tls)  # McpUnavailable: a 424
    service.mcp_calls.append({"name": name, "arguments": json.loads(arguments)})
    call = {"type": "mcp_call", "id": "mcp_" + uuid.uuid4().hex[:12], "server_label": label, "name": name,
            "arguments": arguments, "output": output, "approval_request_id": approval_id,
            "status": "completed" if failed is None else "failed",
            "error": None if failed is None else {"type": "mcp_tool_execution_error",
                                                  "content": [{"type": "text", "text": failed}]}}
    said = f"The {label} server says: {output}" if failed is None else f"The {name} tool failed: {failed}"
    return HostedRun(ModelOutput(said), [call])
{%- endif %}


def _url_citation(title: str, url: str) -> dict[str, Any]:
    return {"type": "url_citation", "title": title, "url": url, "start_index": 0, "end_index": 1}


def _hosted_turn(item: dict[str, Any]) -> Turn:
    if item["type"] == "mcp_approval_request":
        return Turn("approval", item["arguments"], name=item["name"], call_id=item["id"])
    return Turn("hosted", json.dumps(item), name=item["type"], call_id=item["id"])


def install(server: FakeFoundry) -> AgentService:
    """Add the Agent Service routes to a fake Foundry, with the app's agent already created once (by a deploy)."""
    service = AgentService()
    service.install(server)
    service.seed()
    for name, (category, target, arm_id) in CHOSEN_CONNECTIONS.items():
        service.add_connection(name, category, target, arm_id)
    for name, instructions, connection in SPECIALISTS:  # as an earlier `agent sync` made them
        service.add_specialist(name, instructions, connection)
    return service


# The specialist agents this repo declares (src/.../specialists.py): name, instructions, connection name.
SPECIALISTS: list[tuple[str, str, str]] = [
{%- for agent in cookiecutter.agents %}
{%- set row = '(' ~ (agent.name | tojson) ~ ', ' ~ (agent.instructions | tojson) ~ ', ' ~ (agent.connection | tojson) ~ '),' %}
    {{ row }}{% if (row | length) > 116 %}  # noqa: E501{% endif %}
{%- endfor %}
]


# The project connections this repo's tools use (infra/ creates those without an ARM id given at generation).
CHOSEN_CONNECTIONS: dict[str, tuple[str, str, str]] = {
{%- set tools = cookiecutter.tools %}
{%- if 'ai-search' in tools %}
    "ai-search": ("CognitiveSearch", "https://srch-test.search.windows.net",
{%- if tools['ai-search'].get('connection') %}
              {{ tools['ai-search']['connection'] | tojson }}),
{%- else %}
              ""),
{%- endif %}
{%- endif %}
{%- if 'sharepoint' in tools %}
    "sharepoint": ("Sharepoint", "https://contoso.sharepoint.com/sites/policies",
{%- if tools['sharepoint'].get('connection') %}
              {{ tools['sharepoint']['connection'] | tojson }}),
{%- else %}
              ""),
{%- endif %}
{%- endif %}
{%- if 'fabric' in tools %}
    "fabric": ("MicrosoftFabric", "https://api.fabric.microsoft.com/v1/workspaces/ws/aiskills/da",
{%- if tools['fabric'].get('connection') %}
              {{ tools['fabric']['connection'] | tojson }}),
{%- else %}
              ""),
{%- endif %}
{%- endif %}
}


def _agent_model(transcript: list[Turn], tools: set[str], definition: dict[str, Any]) -> ModelOutput:
    """The fake model, told the agent's instructions: asked for them, it repeats them (shows which version ran)."""
    last = transcript[-1] if transcript else Turn("user")
    if last.role == "user" and "your instructions" in last.text.lower():
        return ModelOutput(f"My instructions: {definition.get('instructions', '')}")
    return fake_model(transcript, tools)


def _conversation_object(conversation: Conversation) -> dict[str, Any]:
    return {"id": conversation.id, "object": "conversation", "created_at": conversation.created_at, "metadata": {}}


def _item(turn: Turn) -> dict[str, Any]:
    """A conversation item as the Conversations API lists it."""
    item_id = "item_" + uuid.uuid4().hex[:16]
    if turn.role == "hosted":
        return dict(json.loads(turn.text))
    if turn.role == "approval":
        return {"type": "mcp_approval_request", "id": turn.call_id, "server_label": "", "name": turn.name,
                "arguments": turn.text}
    if turn.role == "approval_response":
        return {"type": "mcp_approval_response", "id": item_id, "approval_request_id": turn.call_id,
                "approve": turn.text == "true"}
    if turn.role == "tool_call":
        return {"type": "function_call", "id": item_id, "call_id": turn.call_id, "name": turn.name,
                "arguments": turn.text, "status": "completed"}
    if turn.role == "tool":
        return {"type": "function_call_output", "id": item_id, "call_id": turn.call_id, "output": turn.text,
                "status": "completed"}
    part = "output_text" if turn.role == "assistant" else "input_text"
    return {"type": "message", "id": item_id, "role": turn.role, "status": "completed",
            "content": [{"type": part, "text": turn.text}]}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _input_turns(items: Any, history: list[Turn]) -> list[Turn]:
    """Input as the service reads it; function outputs must answer exactly the calls still open."""
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    open_calls = {}
    open_approvals = set()
    for turn in history:
        if turn.role == "tool_call":
            open_calls[turn.call_id] = turn.name
        elif turn.role == "tool":
            open_calls.pop(turn.call_id, None)
        elif turn.role == "approval":
            open_approvals.add(turn.call_id)
        elif turn.role == "approval_response":
            open_approvals.discard(turn.call_id)
    turns = []
    for item in items or []:
        kind = item.get("type", "message")
        if kind == "mcp_approval_response":
            request = item.get("approval_request_id")
            if request not in open_approvals or not isinstance(item.get("approve"), bool):
                raise ValueError(f"No pending MCP approval request with id {request} (or approve is not a boolean).")
            open_approvals.discard(request)
            turns.append(Turn("approval_response", "true" if item["approve"] else "false", call_id=request))
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in open_calls:
                raise ValueError(f"No tool call found for function call output with call_id {call_id}.")
            turns.append(Turn("tool", _text_of(item["output"]), name=open_calls.pop(call_id), call_id=call_id))
        elif kind == "message" and item.get("role") in ("user", "system", "developer"):
            turns.append(Turn("user" if item["role"] == "user" else "system", _text_of(item["content"])))
        else:
            raise ValueError(f"unsupported input item {item!r}")
    if open_calls:
        raise ValueError(f"No tool output found for function call {next(iter(open_calls))}.")
    if open_approvals:
        raise ValueError(f"No approval response found for MCP approval request {next(iter(open_approvals))}.")
    return turns


# Why a response stopped early, as the Responses API reports it in incomplete_details.reason.
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _response(
    conversation_id: str, agent: dict[str, Any], output: ModelOutput,
    hosted: list[dict[str, Any]] | None = None, citations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    incomplete = INCOMPLETE_REASONS.get(output.stop)
    items: list[dict[str, Any]] = list(hosted or [])  # the hosted tools ran before the model wrote its answer
    if output.text:  # text the model says before its tool calls comes first
        items.append({
            "type": "message", "id": "msg_" + uuid.uuid4().hex[:16], "role": "assistant",
            "status": "incomplete" if incomplete else "completed",
            "content": [{"type": "output_text", "text": output.text, "annotations": citations or [], "logprobs": []}],
        })
    items += [
        {"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:16], "call_id": c.call_id, "name": c.name,
         "arguments": json.dumps(c.arguments), "status": "completed"}
        for c in output.calls
    ]
    definition = agent["definition"]
    return {
        "id": "resp_" + uuid.uuid4().hex, "object": "response", "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed", "model": definition["model"], "output": items,
        "conversation": {"id": conversation_id}, "previous_response_id": None,
        "instructions": definition.get("instructions"), "tools": definition.get("tools") or [],
        "tool_choice": "auto", "parallel_tool_calls": True, "store": True, "truncation": "disabled",
        "temperature": 1.0, "top_p": 1.0, "metadata": {}, "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "text": {"format": {"type": "text"}},
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def _events(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """created -> in_progress -> per item: added, parts/deltas, done -> completed, with consistent ids."""
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": started}),
        ("response.in_progress", {"response": started}),
    ]
    for index, item in enumerate(response["output"]):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "function_call":
            events.append(("response.output_item.added",
                           {"output_index": index, "item": {**item, "arguments": "", "status": "in_progress"}}))
            events.append(("response.function_call_arguments.delta", {**where, "delta": item["arguments"]}))
            events.append(("response.function_call_arguments.done",
                           {**where, "arguments": item["arguments"], "name": item["name"]}))
        elif item["type"] != "message":  # a hosted tool's item: announced, then done (its own progress events omitted)
            events.append(("response.output_item.added", {"output_index": index, "item": item}))
        else:
            text = item["content"][0]["text"]
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append(("response.output_item.added",
                           {"output_index": index, "item": {**item, "content": [], "status": "in_progress"}}))
            events.append(("response.content_part.added", {**where, "content_index": 0, "part": empty}))
            events.extend(("response.output_text.delta", {**where, "content_index": 0, "delta": d, "logprobs": []})
                          for d in words(text))
            events.append(("response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}))
            events.append(("response.content_part.done", {**where, "content_index": 0, "part": item["content"][0]}))
        events.append(("response.output_item.done", {"output_index": index, "item": item}))
    events.append((f"response.{response['status']}", {"response": response}))  # completed or incomplete
    return events


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    """A stored object as the service shows it (bookkeeping and content left out)."""
    return {k: v for k, v in entry.items() if k not in ("polls", "content")}
