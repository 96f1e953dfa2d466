"""Chat completions on the fake Foundry (/openai/v1/chat/completions): stateless like the real service, it
checks that every request carries a well-formed history (each tool call answered by its tool message) and
answers with the fake model, as JSON or as streamed chunks, with the finish reason the service would send
("stop", "tool_calls", "length", "content_filter"). A Mistral deployment is as strict about tool-call ids as
Mistral's API, and generates ids of that form itself."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from fake_foundry import Answer, FakeFoundry, ModelOutput, ToolCall, Turn, error, fake_model, prompt_filtered, words

# Entra ID audience of /openai/v1/, from the docs, not from the app: MicrosoftDocs/azure-ai-docs
# articles/foundry/foundry-models/includes/code-create-chat-client-entra.md (ms.date 2026-07-31) "Tokens must be
# issued with scope https://ai.azure.com/.default".
AUDIENCE = "https://ai.azure.com"
DEPLOYMENT = "{{ cookiecutter.model_deployment }}"
# Every deployment of the spec answers, whatever its provider: switching model is changing a setting.
DEPLOYMENTS = [{% for m in cookiecutter.models %}"{{ m.name }}", {% endfor %}]
# deployment -> the model's publisher (the spec's `format`): the fake applies that provider's rules.
PROVIDERS = { {%- for m in cookiecutter.models %}"{{ m.name }}": "{{ m.format }}", {% endfor -%} }
# Mistral's API accepts only this form of tool-call id, in the assistant's tool_calls and in tool messages; its
# error text: "Tool call id was <id> but must be a-z, A-Z, 0-9, with a length of 9." (langchain-ai/langchain#24668,
# anomalyco/opencode#1680).
MISTRAL_CALL_ID = re.compile(r"[A-Za-z0-9]{9}")
# Stands in for a model's context window (characters): a longer request is refused like the real service does.
CONTEXT_CHARS = 200_000
BASE_PATH = "/openai/v1/"
CHAT_COMPLETIONS = r"/openai/v1/chat/completions"


def app_env(server: FakeFoundry) -> dict[str, str]:
    """Settings that point the app at the fake (the same names azd writes after provisioning)."""
    # The fake model calls tools, whatever the primary model can do; test_tools_off covers APP_MODEL_TOOLS=false.
    return {"AZURE_OPENAI_ENDPOINT": server.url + BASE_PATH, "AZURE_AI_MODEL_DEPLOYMENT": DEPLOYMENT,
{%- if 'mcp' in cookiecutter.tools %}
            # No MCP server unless a test starts one (tests/test_mcp_tools.py): an empty URL turns its tools off.
            "APP_MCP_URL": "",
{%- endif %}
            "APP_MODEL_TOOLS": "true"}


class ChatCompletionsService:
    """The service side: which deployments answer (a test can add or remove one to model a redeploy)."""

    def __init__(self) -> None:
        self.deployments = set(DEPLOYMENTS)
        self.providers = dict(PROVIDERS)

    def install(self, server: FakeFoundry) -> None:
        server.route("POST", CHAT_COMPLETIONS, lambda req, _m: self.create(req.body))

    def add_deployment(self, name: str, provider: str) -> None:
        """Deploy another model (a later `azd provision`), e.g. ("Mistral-Large-3", "Mistral AI")."""
        self.deployments.add(name)
        self.providers[name] = provider

    def create(self, body: dict[str, Any]) -> Answer:
        if body.get("model") not in self.deployments:
            return error(404, "DeploymentNotFound", f"The API deployment {body.get('model')!r} does not exist.")
        return create(body, self.providers.get(body["model"], "OpenAI"))


def install(server: FakeFoundry) -> ChatCompletionsService:
    """Add the chat-completions route to a fake Foundry; returns the service for tests that change it."""
    service = ChatCompletionsService()
    service.install(server)
    return service


def create(body: dict[str, Any], provider: str = "OpenAI") -> Answer:
    """One stateless completion for any deployment name the caller vouches for, by a model of `provider`."""
    try:
        transcript = transcript_of(body.get("messages"))
    except ValueError as exc:
        return error(400, "invalid_request_error", str(exc))
    if provider == "Mistral AI" and (bad := _bad_call_id(body["messages"])):
        message = f"Tool call id was {bad} but must be a-z, A-Z, 0-9, with a length of 9."
        return error(400, "invalid_request_error", message)
    if sum(len(t.text) for t in transcript) > CONTEXT_CHARS:
        return error(400, "context_length_exceeded", "This model's maximum context length was exceeded.")
    users = [t for t in transcript if t.role == "user"]
    if users and (refused := prompt_filtered(users[-1].text)):
        return refused
    tools = {t["function"]["name"] for t in body.get("tools") or [] if t.get("type") == "function"}
    if body.get("tool_choice") == "none":
        tools = set()
    output = app_tools_model(transcript, tools) or fake_model(transcript, tools)
    if provider == "Mistral AI":  # Mistral's own ids are already of its accepted form
        for call in output.calls:
            call.call_id = uuid.uuid4().hex[:9]
    if body.get("stream"):
        return Answer(events=[("chat.completion.chunk", c) for c in chunks(output, body["model"])])
    return Answer(200, completion(output, body["model"]))


# The fake model's rules for the tools this app adds to the example ones (its MCP server's, search_files):
# "use <tool> with {json}" calls the function tool whose name ends in __<tool> (an MCP tool) with those arguments;
# "search my files for <query>" calls search_files; after search_files it answers from the first passage, citing it.
_USE = re.compile(r"\buse (\w+) with (\{.*\})\s*$", re.IGNORECASE)
_SEARCH = re.compile(r"\bsearch my files for (.+?)\s*\??$", re.IGNORECASE)


def app_tools_model(transcript: list[Turn], tools: set[str]) -> ModelOutput | None:
    """The fake model's answer when one of this app's own tools applies, else None (fake_model answers)."""
    last = transcript[-1] if transcript else Turn("user")
    if last.role == "tool" and last.name == "search_files":
        results = json.loads(last.text).get("results") or []
        if not results:
            return ModelOutput("Your files say nothing about that.")
        first = results[0]
        return ModelOutput(f"{first['text'].split('.')[0].strip()} {first['ref']}.")
    if last.role != "user":
        return None
    if (m := _USE.search(last.text)) and (name := next((t for t in sorted(tools) if t.endswith("__" + m[1])), None)):
        return ModelOutput(calls=[ToolCall(name, json.loads(m[2]))])
    if "search_files" in tools and (m := _SEARCH.search(last.text)):
        return ModelOutput(calls=[ToolCall("search_files", {"query": m[1]})])
    return None


def _bad_call_id(messages: list[dict[str, Any]]) -> str | None:
    """The first tool-call id (assistant tool_calls or tool message) outside Mistral's accepted form."""
    for m in messages:
        ids = [c.get("id", "") for c in m.get("tool_calls") or []]
        if m.get("role") == "tool":
            ids.append(m.get("tool_call_id") or "")
        for call_id in ids:
            if not MISTRAL_CALL_ID.fullmatch(call_id):
                return str(call_id)
    return None


def _text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(part.get("text", "") for part in content)


def transcript_of(messages: Any) -> list[Turn]:
    """The history as the model sees it; rejects what the real service rejects about tool-call threading."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty array")
    turns: list[Turn] = []
    open_calls: dict[str, str] = {}
    for m in messages:
        role = m.get("role")
        if open_calls and role != "tool":
            raise ValueError(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(open_calls)}"
            )
        if role in ("system", "developer"):
            turns.append(Turn("system", _text(m.get("content"))))
        elif role == "user":
            turns.append(Turn("user", _text(m.get("content"))))
        elif role == "assistant":
            if m.get("content"):
                turns.append(Turn("assistant", _text(m["content"])))
            for call in m.get("tool_calls") or []:
                open_calls[call["id"]] = call["function"]["name"]
                turns.append(Turn("tool_call", name=call["function"]["name"], call_id=call["id"]))
        elif role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in open_calls:
                raise ValueError(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'."
                )
            turns.append(Turn("tool", _text(m.get("content")), name=open_calls.pop(call_id), call_id=call_id))
        else:
            raise ValueError(f"unsupported role {role!r}")
    if open_calls:
        raise ValueError(f"tool_call_ids did not have response messages: {', '.join(open_calls)}")
    return turns


def _calls(output: ModelOutput) -> list[dict[str, Any]]:
    return [{"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in output.calls]


def _envelope(kind: str, model: str) -> dict[str, Any]:
    return {"id": "chatcmpl-" + uuid.uuid4().hex, "object": kind, "created": int(time.time()), "model": model}


def completion(output: ModelOutput, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": output.text or None}
    if output.calls:
        message["tool_calls"] = _calls(output)
    return {
        **_envelope("chat.completion", model),
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(output), "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def chunks(output: ModelOutput, model: str) -> list[dict[str, Any]]:
    """Azure's streaming shape: a content-filter chunk without choices, a role chunk, text deltas, tool-call
    pieces (id and name first, arguments in fragments), then the finish reason."""
    envelope = _envelope("chat.completion.chunk", model)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    out = [{**envelope, "choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
           chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": d}) for d in words(output.text)] if output.text else []
    for index, call in enumerate(_calls(output)):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        out.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                          "function": {"name": call["function"]["name"], "arguments": ""}}]}))
        out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in (arguments[:half], arguments[half:])]
    out.append(chunk({}, _finish_reason(output)))
    return out


def _finish_reason(output: ModelOutput) -> str:
    return "tool_calls" if output.calls and output.stop == "stop" else output.stop
