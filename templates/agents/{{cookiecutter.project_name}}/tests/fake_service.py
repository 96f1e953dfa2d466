"""Foundry Agent Service on the fake Foundry, in the wire format azure-ai-projects 2.x and openai 3.x use.

Under the project endpoint {url}/api/projects/<project>:
- agents (azure-ai-projects, `?api-version=v1`): GET agents/{name}, POST/GET agents/{name}/versions,
  GET agents/{name}/versions/{version}; versions are immutable and numbered 1, 2, ...;
- the project's OpenAI surface (openai, no api-version): POST openai/v1/conversations,
  GET/DELETE openai/v1/conversations/{id}, POST openai/v1/responses running an agent given as
  `agent_reference` on a conversation that keeps every item (messages, function calls, their outputs).
https only: azure-core refuses to send a bearer token over plain http. Standard library only (the scaffolder's
own suite loads it too), like fake_foundry.py.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fake_foundry import Answer, FakeFoundry, ModelOutput, Recorded, Turn, error, fake_model, prompt_filtered, words

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
RESPONSES = PROJECT_PATH + "/openai/v1/responses"
_AGENT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# The function tools the fake model knows how to call (fake_foundry.fake_model), as an earlier deploy declared them.
SEEDED_TOOLS = [
    {"type": "function", "name": name, "parameters": {"type": "object"}, "strict": False}
    for name in ("get_current_time", "calculate")
]


def app_env(server: FakeFoundry) -> dict[str, str]:
    """Settings that point the app at the fake (the same names azd writes after provisioning)."""
    return {"AZURE_AI_PROJECT_ENDPOINT": server.url + PROJECT_PATH, "AZURE_AI_MODEL_DEPLOYMENT": DEPLOYMENT}


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

    def install(self, server: FakeFoundry) -> None:
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
        return Answer(200, {"object": "agent", "id": name, "name": name, "state": "enabled",
                            "configuration_state": "enabled", "versions": {"latest": latest}})

    def create_version(self, name: str, req: Recorded) -> Answer:
        body = req.body or {}
        if not _AGENT_NAME.fullmatch(name):
            return error(400, "invalid_request_error", f"Invalid agent name '{name}'.")
        definition = body.get("definition")
        if not isinstance(definition, dict) or definition.get("kind") != "prompt":
            return error(400, "invalid_request_error", "definition with kind 'prompt' is required.")
        if definition.get("model") not in self.deployments:
            return error(400, "invalid_request_error", f"Model deployment '{definition.get('model')}' not found.")
        for tool in definition.get("tools") or []:
            if tool.get("type") == "function" and not (tool.get("name") and isinstance(tool.get("parameters"), dict)):
                return error(400, "invalid_request_error", "function tools need a name and parameters.")
            if tool.get("type") not in ("function", "code_interpreter", "file_search"):
                return error(400, "invalid_request_error", f"Unsupported tool type {tool.get('type')!r}.")
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
        output = _agent_model(conversation.turns + new_turns, tools, definition)
        response = _response(conversation.id, agent, output)
        # Only a run adds to the conversation: a refused request leaves it as it was. A run the network cut after
        # this point is on the service all the same (the fake's stream faults act on the wire).
        conversation.turns += new_turns + ([Turn("assistant", output.text)] if output.text else [])
        conversation.turns += [
            Turn("tool_call", json.dumps(c.arguments), name=c.name, call_id=c.call_id) for c in output.calls
        ]
        if body.get("stream"):
            return Answer(200, response, events=_events(response))
        return Answer(200, response)


def install(server: FakeFoundry) -> AgentService:
    """Add the Agent Service routes to a fake Foundry, with the app's agent already created once (by a deploy)."""
    service = AgentService()
    service.install(server)
    service.seed()
    return service


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
    for turn in history:
        if turn.role == "tool_call":
            open_calls[turn.call_id] = turn.name
        elif turn.role == "tool":
            open_calls.pop(turn.call_id, None)
    turns = []
    for item in items or []:
        kind = item.get("type", "message")
        if kind == "function_call_output":
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
    return turns


# Why a response stopped early, as the Responses API reports it in incomplete_details.reason.
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _response(conversation_id: str, agent: dict[str, Any], output: ModelOutput) -> dict[str, Any]:
    incomplete = INCOMPLETE_REASONS.get(output.stop)
    items: list[dict[str, Any]] = []
    if output.text:  # text the model says before its tool calls comes first
        items.append({
            "type": "message", "id": "msg_" + uuid.uuid4().hex[:16], "role": "assistant",
            "status": "incomplete" if incomplete else "completed",
            "content": [{"type": "output_text", "text": output.text, "annotations": [], "logprobs": []}],
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
