"""The Responses API on the fake Foundry: server-held state chained by previous_response_id, function calls,
streaming with the full event sequence the openai SDK's stream helper validates, and the service's failure modes:
stored responses that vanish (expired) or that intermittently cannot be found, replies stopped by the content
filter or the output token limit (status "incomplete")."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fake_foundry import Answer, FakeFoundry, ModelOutput, Turn, error, fake_model, prompt_filtered, words

# Entra ID audience of /openai/v1/, from the docs, not from the app: MicrosoftDocs/azure-ai-docs
# articles/foundry/foundry-models/includes/code-create-chat-client-entra.md (ms.date 2026-07-31) "Tokens must be
# issued with scope https://ai.azure.com/.default".
AUDIENCE = "https://ai.azure.com"
DEPLOYMENT = "{{ cookiecutter.model_deployment }}"
BASE_PATH = "/openai/v1/"
RESPONSES = r"/openai/v1/responses"
FAIL_PHRASE = "make the model fail"  # a user message the fake answers with a failed response


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

    def install(self, server: FakeFoundry) -> None:
        server.route("POST", RESPONSES, lambda req, _m: self.create(req.body))
        server.route("GET", RESPONSES + r"/(resp_\w+)", lambda _req, m: self.retrieve(m.group(1)))

    def chain(self, response_id: str | None) -> list[Turn]:
        turns: list[Turn] = []
        while response_id is not None:
            entry = self.stored[response_id]
            turns[:0] = entry["turns"]
            response_id = entry["previous"]
        return turns

    def create(self, body: dict[str, Any]) -> Answer:
        if body.get("model") != DEPLOYMENT:
            return error(404, "DeploymentNotFound", f"The API deployment {body.get('model')!r} does not exist.")
        previous = body.get("previous_response_id")
        if previous is not None and (previous not in self.stored or self._misses(previous)):
            return error(400, "previous_response_not_found", f"Previous response with id '{previous}' not found.")
        history = self.chain(previous)
        try:
            new_turns = _input_turns(body.get("input"), history)
        except ValueError as exc:
            return error(400, "invalid_request_error", str(exc))
        if new_turns and (refused := prompt_filtered(new_turns[-1].text)):
            return refused
        tools = {t["name"] for t in body.get("tools") or [] if t.get("type") == "function"}
        output = fake_model(history + new_turns, tools)
        response = _response(body, previous, output)
        if new_turns and new_turns[-1].text == FAIL_PHRASE:
            return _failed(body, response)
        out_turns = [Turn("assistant", output.text)] if output.text else []
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

    def retrieve(self, response_id: str) -> Answer:
        if response_id not in self.stored:
            return error(404, "not_found", f"Response with id '{response_id}' not found.")
        return Answer(200, self.stored[response_id]["response"])


def install(server: FakeFoundry) -> ResponsesService:
    """Add the Responses routes to a fake Foundry."""
    service = ResponsesService()
    service.install(server)
    return service


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
