"""The Responses API on the fake Foundry: server-held state chained by previous_response_id, function calls,
streaming with the full event sequence the openai SDK's stream helper validates, and the service's failure modes:
stored responses that vanish (expired) or that intermittently cannot be found, replies stopped by the content
filter or the output token limit (status "incomplete").

Hosted tools, strictly: files (multipart upload) and vector stores that index asynchronously for file_search,
code interpreter containers and their files, remote MCP servers with approval requests (the fake is the MCP client
the service is: tests/fake_mcp.py talks to the real SDK server of tests/mcp_server.py with the headers the app sent;
a server that is down or refuses them: 424), web search and image generation (which needs the image deployment
header)."""

from __future__ import annotations

import base64
import json
{%- if 'mcp' in cookiecutter.tools %}
import re
import ssl
{%- endif %}
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from fake_foundry import Answer, FakeFoundry, ModelOutput, Turn, error, fake_model, prompt_filtered, words
{%- if 'mcp' in cookiecutter.tools %}
from fake_mcp import McpUnavailable, call_tool, list_tools
{%- endif %}

# Entra ID audience of /openai/v1/, from the docs, not from the app: MicrosoftDocs/azure-ai-docs
# articles/foundry/foundry-models/includes/code-create-chat-client-entra.md (ms.date 2026-07-31) "Tokens must be
# issued with scope https://ai.azure.com/.default".
AUDIENCE = "https://ai.azure.com"
DEPLOYMENT = "{{ cookiecutter.model_deployment }}"
BASE_PATH = "/openai/v1/"
RESPONSES = r"/openai/v1/responses"
FAIL_PHRASE = "make the model fail"  # a user message the fake answers with a failed response
# What makes the fake model use each hosted tool (when the request offers it).
ASK_FILES = "what do the docs say"  # file_search: answers from the store's files and cites them
ASK_CODE = "plot the numbers"  # code_interpreter: runs code that writes a file in its container and cites it
ASK_MCP = "ask the docs server"  # mcp: `ask the docs server[: TOOL {json arguments}]` (default MCP_TOOL)
ASK_WEB = "search the web for"  # web_search: cites a page
ASK_IMAGE = "draw a picture"  # image_generation: returns a PNG
# The tool the fake model calls on the MCP server (tests/mcp_server.py's `add`) unless the message names one, and
# what it says with the server's real output.
MCP_TOOL = "add"
MCP_ARGUMENTS = {"a": 40, "b": 2}
MCP_ANSWER = "MCP says: 42"
{%- if 'mcp' in cookiecutter.tools %}
_ASKED_TOOL = re.compile(re.escape(ASK_MCP) + r":\s*(\w+)\s*(\{.*\})?", re.S)
{%- endif %}
IMAGE_HEADER = "x-ms-oai-image-generation-deployment"
# Every key a hosted tool definition may carry, per type: the request types of the openai SDK 3.57
# (openai/types/responses: FileSearchToolParam, tool_param.Mcp, tool_param.CodeInterpreter (+ its auto container),
# WebSearchToolParam, tool_param.ImageGeneration). The service answers any other key with 400 "Unknown parameter".
HOSTED_KEYS: dict[str, frozenset[str]] = {
    "file_search": frozenset({"type", "vector_store_ids", "max_num_results", "ranking_options", "filters"}),
    "code_interpreter": frozenset({"type", "container", "allowed_callers"}),
    "mcp": frozenset({"type", "server_label", "server_url", "headers", "require_approval", "allowed_tools",
                      "server_description", "connector_id", "authorization", "allowed_callers", "defer_loading",
                      "tunnel_id"}),
    "web_search": frozenset({"type", "search_context_size", "user_location", "filters", "external_web_access"}),
    "image_generation": frozenset({"type", "action", "background", "complexity", "frame_count", "frame_duration_ms",
                                   "input_fidelity", "input_image_mask", "model", "moderation", "output_compression",
                                   "output_format", "partial_images", "quality", "size", "svg"}),
}
AUTO_CONTAINER_KEYS = frozenset({"type", "file_ids", "memory_limit", "network_policy"})


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _bad_key(kind: str, tool: dict[str, Any]) -> str | None:
    """The first key of a hosted tool definition the service would refuse: unknown, or of the wrong type."""
    unknown = sorted(set(tool) - HOSTED_KEYS[kind])
    if unknown:
        return unknown[0]
    if kind == "file_search":
        if not _strings(tool.get("vector_store_ids")):
            return "vector_store_ids"
        if "max_num_results" in tool and (type(tool["max_num_results"]) is not int
                                          or not 1 <= tool["max_num_results"] <= 50):
            return "max_num_results"
    if kind == "code_interpreter":
        container = tool.get("container")
        extra = sorted(str(k) for k in container if k not in AUTO_CONTAINER_KEYS) if isinstance(container, dict) else []
        if extra:
            return f"container.{extra[0]}"
    if kind == "mcp":
        for key in ("server_label", "server_url"):
            if not isinstance(tool.get(key), str):
                return key
        headers = tool.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in headers.items()):
            return "headers"
        if "allowed_tools" in tool and not _strings(tool["allowed_tools"]):
            return "allowed_tools"
    if kind == "web_search" and tool.get("search_context_size", "medium") not in ("low", "medium", "high"):
        return "search_context_size"
    return None
# A 1x1 PNG, as the image tool returns it (base64).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PLOT = b"x,y\n1,2\n2,4\n"
HOSTED_TYPES = {"file_search", "code_interpreter", "mcp", "web_search", "image_generation"}


def app_env(server: FakeFoundry) -> dict[str, str]:
    """Settings that point the app at the fake (the same names azd writes after provisioning)."""
    return {"AZURE_OPENAI_ENDPOINT": server.url + BASE_PATH, "AZURE_AI_MODEL_DEPLOYMENT": DEPLOYMENT}


class ResponsesService:
    """Keeps every response the way the service does with store=true, so a turn sees its whole chain."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        # Azure's /openai/v1/ intermittently answers previous_response_not_found for a response that exists, most
        # often right after a function-call round (dotnet/extensions#7704, microsoft/agent-framework#6419):
        # the next `transient_misses` requests that chain from a stored response get that error, and so does
        # every request chaining from a response with function calls while `miss_after_tool_calls` is set.
        self.transient_misses = 0
        self.miss_after_tool_calls = False

        # Hosted tools' state, as the service keeps it.
        self.files: dict[str, dict[str, Any]] = {}  # file id -> file object (+ "content")
        self.max_file_bytes = 512 * 1024 * 1024  # the service's per-file limit; tests lower it
        self.vector_stores: dict[str, dict[str, Any]] = {}
        self.store_files: dict[str, dict[str, dict[str, Any]]] = {}  # store id -> file id -> vector store file
        self.polls_until_indexed = 2  # GETs of a vector store file answered in_progress before it completes
        self.containers: dict[str, dict[str, dict[str, Any]]] = {}  # container id -> file id -> file (+ content)
        self.approvals: dict[str, dict[str, Any]] = {}  # open MCP approval requests by id
        self.mcp_requests: list[dict[str, Any]] = []  # the mcp tool definitions the service was given
{%- if 'mcp' in cookiecutter.tools %}
        self.mcp_tls: ssl.SSLContext | bool = True  # what the fake's MCP client trusts (tests: the test server's CA)
{%- endif %}
        self.decided: dict[str, dict[str, Any]] = {}  # answered MCP approval requests by id (their items)

    def install(self, server: FakeFoundry) -> None:
        server.route("POST", RESPONSES, lambda req, _m: self.create(req.body, req.headers))
        server.route("GET", RESPONSES + r"/(resp_\w+)", lambda _req, m: self.retrieve(m.group(1)))
        server.route("POST", BASE_PATH + "files", lambda req, _m: self.upload(req))
        server.route("POST", BASE_PATH + "vector_stores", lambda req, _m: self.create_store(req.body))
        server.route("GET", BASE_PATH + r"vector_stores/(vs_\w+)", lambda _req, m: self.get_store(m.group(1)))
        server.route("POST", BASE_PATH + r"vector_stores/(vs_\w+)/files",
                     lambda req, m: self.add_store_file(m.group(1), req.body))
        server.route("GET", BASE_PATH + r"vector_stores/(vs_\w+)/files/([\w-]+)",
                     lambda _req, m: self.get_store_file(m.group(1), m.group(2)))
        server.route("GET", BASE_PATH + r"containers/(cntr_\w+)/files",
                     lambda _req, m: self.list_container(m.group(1)))
        server.route("GET", BASE_PATH + r"containers/(cntr_\w+)/files/(cfile_\w+)",
                     lambda _req, m: self.container_file(m.group(1), m.group(2), content=False))
        server.route("GET", BASE_PATH + r"containers/(cntr_\w+)/files/(cfile_\w+)/content",
                     lambda _req, m: self.container_file(m.group(1), m.group(2), content=True))

    def chain(self, response_id: str | None) -> list[Turn]:
        turns: list[Turn] = []
        while response_id is not None:
            entry = self.stored[response_id]
            turns[:0] = entry["turns"]
            response_id = entry["previous"]
        return turns

    def create(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        if body.get("model") != DEPLOYMENT:
            return error(404, "DeploymentNotFound", f"The API deployment {body.get('model')!r} does not exist.")
        previous = body.get("previous_response_id")
        if previous is not None and (previous not in self.stored or self._misses(previous)):
            return error(400, "previous_response_not_found", f"Previous response with id '{previous}' not found.")
        hosted, problem = self._hosted_tools(body.get("tools") or [], headers or {})
        if problem is not None:
            return problem
        items = body.get("input")
        answers: list[dict[str, Any]] = []
        if isinstance(items, list):
            answers = [i for i in items if i.get("type") == "mcp_approval_response"]
            items = [i for i in items if i.get("type") != "mcp_approval_response"]
        history = self.chain(previous)
        try:
            decided = self._approval_answers(answers, previous)
            new_turns = _input_turns(items, history)
        except ValueError as exc:
            return error(400, "invalid_request_error", str(exc))
        if new_turns and (refused := prompt_filtered(new_turns[-1].text)):
            return refused
        tools = {t["name"] for t in body.get("tools") or [] if t.get("type") == "function"}
        asked = next((t.text for t in reversed(new_turns) if t.role == "user"), "")
        hosted_output = self._hosted_model(asked, hosted, decided)
        if isinstance(hosted_output, Answer):
            return hosted_output
        output = ModelOutput() if hosted_output is not None else fake_model(history + new_turns, tools)
        response = _response(body, previous, output)
        if hosted_output is not None:
            response["output"] = hosted_output
            for item in hosted_output:
                if item["type"] == "mcp_approval_request":
                    self.approvals[item["id"]] = {"response": response["id"], "item": item}
        if new_turns and new_turns[-1].text == FAIL_PHRASE:
            return _failed(body, response)
        said = output.text or "".join(c["text"] for i in response["output"] if i["type"] == "message"
                                      for c in i["content"])
        out_turns = [Turn("assistant", said)] if said else []
        out_turns += [Turn("tool_call", name=c.name, call_id=c.call_id) for c in output.calls]
        if body.get("store", True):
            self.stored[response["id"]] = {"previous": previous, "turns": new_turns + out_turns, "response": response}
        if body.get("stream"):
            return Answer(200, response, events=_events(response))  # body kept for assertions only
        return Answer(200, response)

    def _misses(self, previous: str) -> bool:
        if self.miss_after_tool_calls and any(t.role == "tool_call" for t in self.stored[previous]["turns"]):
            return True
        if self.transient_misses:
            self.transient_misses -= 1
            return True
        return False

    # -- hosted tools -------------------------------------------------------------------------------------
    def _hosted_tools(
        self, tools: list[dict[str, Any]], headers: dict[str, str]
    ) -> tuple[dict[str, dict[str, Any]], Answer | None]:
        """The hosted tool definitions by type, checked as the service checks them."""
        hosted: dict[str, dict[str, Any]] = {}
        for index, tool in enumerate(tools):
            kind = tool.get("type")
            if kind == "function":
                continue
            if kind not in HOSTED_TYPES:
                return {}, error(400, "invalid_request_error", f"Invalid tool type {kind!r}.")
            bad = _bad_key(kind, tool)
            if bad is not None:
                return {}, error(400, "invalid_request_error", f"Unknown or invalid parameter 'tools[{index}].{bad}'.")
            if kind == "file_search":
                ids = tool.get("vector_store_ids")
                if not ids or not isinstance(ids, list):
                    return {}, error(400, "invalid_request_error", "file_search needs vector_store_ids.")
                missing = [i for i in ids if i not in self.vector_stores]
                if missing:
                    return {}, error(404, "not_found", f"Vector store {missing[0]!r} not found.")
            if kind == "code_interpreter":
                container = tool.get("container")
                if not isinstance(container, dict) or container.get("type") != "auto":
                    return {}, error(400, "invalid_request_error", "code_interpreter needs a container.")
                if container.get("memory_limit", "1g") not in ("1g", "4g", "16g", "64g"):
                    return {}, error(400, "invalid_request_error", "Invalid container memory_limit.")
            if kind == "mcp":
                self.mcp_requests.append(tool)
                if not tool.get("server_label") or not str(tool.get("server_url", "")).startswith(("https://",
                                                                                                   "http://")):
                    return {}, error(400, "invalid_request_error", "mcp needs server_label and server_url.")
                if tool.get("require_approval", "always") not in ("always", "never"):
                    return {}, error(400, "invalid_request_error", "Invalid require_approval.")
            if kind == "image_generation" and not headers.get(IMAGE_HEADER):
                return {}, error(400, "invalid_request_error",
                                 f"image_generation needs the {IMAGE_HEADER} header naming an image deployment.")
            hosted[kind] = tool
        return hosted, None

    def _approval_answers(self, answers: list[dict[str, Any]], previous: str | None) -> dict[str, bool]:
        decided = {}
        for answer in answers:
            request_id = answer.get("approval_request_id")
            open_request = self.approvals.get(str(request_id))
            if open_request is None or open_request["response"] != previous:
                raise ValueError(f"No approval request found with id {request_id!r} in the previous response.")
            if not isinstance(answer.get("approve"), bool):
                raise ValueError("mcp_approval_response.approve must be true or false.")
            self.decided[str(request_id)] = self.approvals.pop(str(request_id))["item"]
            decided[str(request_id)] = answer["approve"]
        return decided

    def _hosted_model(
        self, asked: str, hosted: dict[str, dict[str, Any]], decided: dict[str, bool]
    ) -> list[dict[str, Any]] | Answer | None:
        """The output items when the fake model uses a hosted tool; None when it does not."""
        text = asked.lower()
{%- if 'mcp' in cookiecutter.tools %}
        if decided:
            return self._after_approval(decided, hosted.get("mcp"))
{%- endif %}
        if ASK_FILES in text and "file_search" in hosted:
            cited = [self.files[f] for s in hosted["file_search"]["vector_store_ids"]
                     for f, entry in self.store_files[s].items() if entry["status"] == "completed"]
            first = cited[0]["content"].decode(errors="replace").split(".")[0] if cited else "nothing"
            notes = [{"type": "file_citation", "file_id": f["id"], "filename": f["filename"], "index": 0}
                     for f in cited]
            return [{"type": "file_search_call", "id": _id("fs"), "status": "completed", "queries": [asked],
                     "results": None}, _message(f"The docs say: {first}.", notes)]
        if ASK_CODE in text and "code_interpreter" in hosted:
            container_id, file_id = _id("cntr"), _id("cfile")
            self.containers[container_id] = {file_id: {
                "id": file_id, "object": "container.file", "bytes": len(PLOT), "container_id": container_id,
                "created_at": int(time.time()), "path": "/mnt/data/plot.csv", "source": "assistant", "content": PLOT}}
            note = {"type": "container_file_citation", "container_id": container_id, "file_id": file_id,
                    "filename": "plot.csv", "start_index": 0, "end_index": 8}
            return [{"type": "code_interpreter_call", "id": _id("ci"), "status": "completed",
                     "code": "open('/mnt/data/plot.csv', 'w').write('x,y')", "container_id": container_id,
                     "outputs": None}, _message("I wrote plot.csv.", [note])]
{%- if 'mcp' in cookiecutter.tools %}
        if ASK_MCP in text and "mcp" in hosted:
            return self._mcp_turn(asked, hosted["mcp"])
{%- endif %}
        if ASK_WEB in text and "web_search" in hosted:
            note = {"type": "url_citation", "url": "https://example.com/answer", "title": "Example answer",
                    "start_index": 0, "end_index": 10}
            return [{"type": "web_search_call", "id": _id("ws"), "status": "completed",
                     "action": {"type": "search", "query": asked}}, _message("The web says: 42.", [note])]
        if ASK_IMAGE in text and "image_generation" in hosted:
            return [{"type": "image_generation_call", "id": _id("ig"), "status": "completed",
                     "result": base64.b64encode(PNG).decode(), "output_format": "png"},
                    _message("Here is your picture.")]
        return None

{%- if 'mcp' in cookiecutter.tools %}

    # -- mcp: the fake is the service's MCP client (tests/fake_mcp.py) ----------------------------------------
    def _mcp_turn(self, asked: str, tool: dict[str, Any]) -> list[dict[str, Any]] | Answer:
        """List the server's tools with the sent headers, then ask for approval or call the tool the user named."""
        label = tool["server_label"]
        try:
            listed = list_tools(tool, self.mcp_tls)
        except McpUnavailable as exc:
            return _mcp_unavailable(label, exc)
        listing = {"type": "mcp_list_tools", "id": _id("mcpl"), "server_label": label, "tools": listed, "error": None}
        named = _ASKED_TOOL.search(asked)
        name = named.group(1) if named else MCP_TOOL
        arguments = named.group(2) if named and named.group(2) else json.dumps(MCP_ARGUMENTS)
        if name not in [t["name"] for t in listed]:
            offered = ", ".join(t["name"] for t in listed) or "none"
            return [listing, _message(f"The MCP server offers me no tool called {name} (offered: {offered}).")]
        request = {"type": "mcp_approval_request", "id": _id("mcpr"), "name": name, "arguments": arguments,
                   "server_label": label}
        if tool.get("require_approval", "always") == "always":
            return [listing, request]
        called = self._mcp_call(tool, request, None)
        return called if isinstance(called, Answer) else [listing, *called]

    def _mcp_call(self, tool: dict[str, Any], request: dict[str, Any], approval_id: str | None
                  ) -> list[dict[str, Any]] | Answer:
        try:
            output, failed = call_tool(tool, request["name"], json.loads(request["arguments"]), self.mcp_tls)
        except McpUnavailable as exc:
            return _mcp_unavailable(tool["server_label"], exc)
        # A failing tool is the item's error (the SDK's McpToolExecutionError shape), not a failed request.
        problem = None if failed is None else {"type": "mcp_tool_execution_error",
                                               "content": [{"type": "text", "text": failed}]}
        call = {"type": "mcp_call", "id": _id("mcp"), "server_label": tool["server_label"], "name": request["name"],
                "arguments": request["arguments"], "output": output, "error": problem,
                "status": "completed" if failed is None else "failed", "approval_request_id": approval_id}
        said = f"MCP says: {output}" if failed is None else f"The MCP tool {request['name']} failed: {failed}"
        return [call, _message(said)]

    def _after_approval(self, decided: dict[str, bool], tool: dict[str, Any] | None
                        ) -> list[dict[str, Any]] | Answer:
        if tool is None:
            return [_message("The MCP tool is no longer offered.")]
        request_id, approved = next(iter(decided.items()))
        request = self.decided[request_id]
        if approved:
            return self._mcp_call(tool, request, request_id)
        return [_message(f"I could not run {request['name']}: the call was not approved.")]
{%- endif %}

    def upload(self, req: Any) -> Answer:
        """POST /files (multipart: purpose, file), as the service takes it."""
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
        file_id = _id("assistant")
        entry = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                 "filename": filename, "purpose": "assistants", "status": "processed"}
        self.files[file_id] = {**entry, "content": content}
        return Answer(200, entry)

    def create_store(self, body: dict[str, Any]) -> Answer:
        store_id = _id("vs")
        self.vector_stores[store_id] = {
            "id": store_id, "object": "vector_store", "created_at": int(time.time()), "name": body.get("name") or "",
            "status": "completed", "usage_bytes": 0, "last_active_at": int(time.time()), "metadata": {},
            "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0},
        }
        self.store_files[store_id] = {}
        return Answer(200, self.vector_stores[store_id])

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
        self.store_files[store_id][file_id] = entry
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

    def list_container(self, container_id: str) -> Answer:
        if container_id not in self.containers:
            return error(404, "not_found", f"Container {container_id!r} not found (containers expire after 20 "
                         "idle minutes).")
        data = [_public(f) for f in self.containers[container_id].values()]
        return Answer(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                            "last_id": data[-1]["id"] if data else None, "has_more": False})

    def container_file(self, container_id: str, file_id: str, content: bool) -> Answer:
        entry = self.containers.get(container_id, {}).get(file_id)
        if entry is None:
            return error(404, "not_found", f"File {file_id!r} not found in container {container_id!r}.")
        if content:
            return Answer(200, entry["content"], headers={"content-type": "application/octet-stream"})
        return Answer(200, _public(entry))

    def retrieve(self, response_id: str) -> Answer:
        if response_id not in self.stored:
            return error(404, "not_found", f"Response with id '{response_id}' not found.")
        return Answer(200, self.stored[response_id]["response"])


def install(server: FakeFoundry) -> ResponsesService:
    """Add the Responses routes to a fake Foundry."""
    service = ResponsesService()
    service.install(server)
    return service


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    """A stored object as the service shows it (bookkeeping and content left out)."""
    return {k: v for k, v in entry.items() if k not in ("polls", "content")}


def _message(text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "message", "id": _id("msg"), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": annotations or [], "logprobs": []}]}


{% if 'mcp' in cookiecutter.tools %}def _mcp_unavailable(label: str, exc: McpUnavailable) -> Answer:
    """How the service answers when it cannot use the MCP server (424 Failed Dependency, the server's status)."""
    status = f"Http status code: {exc.status}" if exc.status else f"{exc} (424 Failed Dependency)"
    return error(424, "external_connector_error",
                 f"Error retrieving tool list from MCP server: '{label}'. {status}")
{% endif %}

def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _input_turns(items: Any, history: list[Turn]) -> list[Turn]:
    """Input as the service reads it; tool outputs must answer exactly the calls still open."""
    if isinstance(items, str):
        return [Turn("user", items)]
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


def _response(body: dict[str, Any], previous: str | None, output: ModelOutput) -> dict[str, Any]:
    incomplete = INCOMPLETE_REASONS.get(output.stop)
    items: list[dict[str, Any]] = []
    if output.text:  # text the model says before its tool calls comes first, as the service orders it
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
    return {
        "id": "resp_" + uuid.uuid4().hex, "object": "response", "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed", "model": DEPLOYMENT, "output": items,
        "previous_response_id": previous,
        "instructions": body.get("instructions"), "tools": body.get("tools") or [], "tool_choice": "auto",
        "parallel_tool_calls": True, "store": body.get("store", True), "truncation": body.get("truncation", "disabled"),
        "temperature": 1.0, "top_p": 1.0, "metadata": {}, "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "text": {"format": {"type": "text"}},
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def _failed(body: dict[str, Any], response: dict[str, Any]) -> Answer:
    """How the service reports a response it could not finish: 500 when asked directly, response.failed in a stream."""
    failure = {"code": "server_error", "message": "The model could not finish this response."}
    if not body.get("stream"):
        return error(500, failure["code"], failure["message"], **{"retry-after-ms": "1"})
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    failed = {**response, "status": "failed", "output": [], "error": failure}
    return Answer(200, failed, events=[
        ("response.created", {"response": started}),
        ("response.in_progress", {"response": started}),
        ("response.failed", {"response": failed}),
    ])


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
        elif item["type"] != "message":  # a hosted tool's item: announced, then done
            events.append(("response.output_item.added",
                           {"output_index": index, "item": {**item, "status": "in_progress"}}))
        else:
            text = item["content"][0]["text"]
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append(("response.output_item.added",
                           {"output_index": index, "item": {**item, "content": [], "status": "in_progress"}}))
            events.append(("response.content_part.added", {**where, "content_index": 0, "part": empty}))
            events.extend(("response.output_text.delta", {**where, "content_index": 0, "delta": d, "logprobs": []})
                          for d in words(text))
            events.append(("response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}))
            events.append(("response.content_part.done",
                           {**where, "content_index": 0, "part": item["content"][0]}))
        events.append(("response.output_item.done", {"output_index": index, "item": item}))
    events.append((f"response.{response['status']}", {"response": response}))  # completed or incomplete
    return events
