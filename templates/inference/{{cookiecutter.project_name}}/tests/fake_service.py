"""Chat completions on the fake Foundry (/openai/v1/chat/completions): stateless like the real service, it
checks that every request carries a well-formed history (each tool call answered by its tool message) and
answers with the fake model, as JSON or as streamed chunks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fake_foundry import Answer, FakeFoundry, ModelOutput, Turn, error, fake_model, words

DEPLOYMENT = "{{ cookiecutter.model_deployment }}"
# Every deployment of the spec answers, whatever its provider: switching model is changing a setting.
DEPLOYMENTS = [{% for m in cookiecutter.models %}"{{ m.name }}", {% endfor %}]
# Stands in for a model's context window (characters): a longer request is refused like the real service does.
CONTEXT_CHARS = 200_000
BASE_PATH = "/openai/v1/"
CHAT_COMPLETIONS = r"/openai/v1/chat/completions"


def app_env(server: FakeFoundry) -> dict[str, str]:
    """Settings that point the app at the fake (the same names azd writes after provisioning)."""
    # The fake model calls tools, whatever the primary model can do; test_tools_off covers APP_MODEL_TOOLS=false.
    return {"AZURE_OPENAI_ENDPOINT": server.url + BASE_PATH, "AZURE_AI_MODEL_DEPLOYMENT": DEPLOYMENT,
            "APP_MODEL_TOOLS": "true"}


class ChatCompletionsService:
    """The service side: which deployments answer (a test can add or remove one to model a redeploy)."""

    def __init__(self) -> None:
        self.deployments = set(DEPLOYMENTS)

    def install(self, server: FakeFoundry) -> None:
        server.route("POST", CHAT_COMPLETIONS, lambda req, _m: self.create(req.body))

    def create(self, body: dict[str, Any]) -> Answer:
        if body.get("model") not in self.deployments:
            return error(404, "DeploymentNotFound", f"The API deployment {body.get('model')!r} does not exist.")
        return create(body)


def install(server: FakeFoundry) -> ChatCompletionsService:
    """Add the chat-completions route to a fake Foundry; returns the service for tests that change it."""
    service = ChatCompletionsService()
    service.install(server)
    return service


def create(body: dict[str, Any]) -> Answer:
    """One stateless completion for any deployment name the caller vouches for."""
    try:
        transcript = transcript_of(body.get("messages"))
    except ValueError as exc:
        return error(400, "invalid_request_error", str(exc))
    if sum(len(t.text) for t in transcript) > CONTEXT_CHARS:
        return error(400, "context_length_exceeded", "This model's maximum context length was exceeded.")
    tools = {t["function"]["name"] for t in body.get("tools") or [] if t.get("type") == "function"}
    if body.get("tool_choice") == "none":
        tools = set()
    output = fake_model(transcript, tools)
    if body.get("stream"):
        return Answer(events=[("chat.completion.chunk", c) for c in chunks(output, body["model"])])
    return Answer(200, completion(output, body["model"]))


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
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if output.calls else "stop",
                     "logprobs": None}],
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
    out.append(chunk({}, "tool_calls" if output.calls else "stop"))
    return out
