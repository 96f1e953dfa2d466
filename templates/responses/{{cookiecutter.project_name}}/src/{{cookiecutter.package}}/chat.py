"""Chat on the Responses API. The service keeps the conversation (store=true): each turn sends only the new
input with previous_response_id, runs the function tools the model asks for, and remembers the last response id.
Hosted tools (hosted.py) run on the service; their citations and files come back with the reply.

Failure paths: only a finished turn moves the conversation on (a failed, filtered or cut-off stream leaves it where
it was); a reply cut at the output token limit is kept and marked; `previous_response_not_found` is retried with
backoff, and a conversation is forgotten only when the service confirms its last response is gone.
"""

from __future__ import annotations

{% if 'mcp' in cookiecutter.tools %}import re
{% endif %}import time
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

{% if 'mcp' in cookiecutter.tools %}from {{ cookiecutter.package }} import hosted
{% endif %}from {{ cookiecutter.package }}.auth import openai_client, openai_v1_url
from {{ cookiecutter.package }}.errors import (
    ConversationGoneError,
    ServiceError,{% if 'mcp' in cookiecutter.tools %}
    _detail,{% endif %}
    cut_mid_tool_call,
    moved_on,
    reply_filtered,
    service_error,
    stream_ended_early,
)
from {{ cookiecutter.package }}.genai import model_call
from {{ cookiecutter.package }}.hosted import (
{%- if 'mcp' in cookiecutter.tools %}
    approval_question,
{%- endif %}
    check_settings,
    collect,
    default_headers,
    hosted_tools,
)
from {{ cookiecutter.package }}.service import (
    ROUND_SEPARATOR,
    TRUNCATED_NOTE,
    Approver,
    Found,
    Reply,
    ReplyStream,
    new_conversation_id,
    separated,
)
from {{ cookiecutter.package }}.settings import Settings
from {{ cookiecutter.package }}.store import ResponseIdStore
from {{ cookiecutter.package }}.tools import call_tool, responses_tools

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from openai import OpenAI
    from openai.types.responses import Response
    from opentelemetry.trace import TracerProvider

# A model that keeps calling tools this many times in one turn is looping; stop and say so.
MAX_TOOL_ROUNDS = 8
# Azure's /openai/v1/ intermittently answers previous_response_not_found for a response that exists, most often
# right after a function-call round, and "retrying the same user turn usually succeeds" (dotnet/extensions#7704,
# microsoft/agent-framework#6419): wait this long (seconds) before each retry.
NOT_FOUND_RETRY_DELAYS = (0.5, 1.0, 2.0)


class ResponsesChat:
    """Multi-turn chat with tools; the local store holds one response id per conversation, nothing else.

    `approver` (set by the interactive CLI) is asked before a tool call that needs approval; without one the
    configured policy answers, so a request never waits for a person.
    """

    def __init__(
        self, client: OpenAI, settings: Settings, store: ResponseIdStore, tracer_provider: TracerProvider | None = None
    ) -> None:
        check_settings(settings)
        headers = default_headers()  # what the hosted tools need on every request (the image deployment)
        self._client = client.with_options(default_headers=headers) if headers else client
        self._settings = settings
        self._store = store
        self._tracer_provider = tracer_provider  # None: the process's (telemetry.configure sets it up)
        self._tools = responses_tools() + hosted_tools(settings)
        self.approver: Approver | None = None

    def reply(self, conversation_id: str | None, message: str) -> Reply:
        """Answer one message (tool calls included) and return the whole reply."""
        conversation_id = conversation_id or new_conversation_id()
        found = Found()
        text = "".join(self._turn(conversation_id, message, streaming=False, found=found))
        return Reply(conversation_id, text, tuple(found.citations), tuple(found.attachments))

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream:
        """Answer one message, yielding text as the model produces it."""
        conversation_id = conversation_id or new_conversation_id()
        found = Found()
        return ReplyStream(conversation_id, self._turn(conversation_id, message, streaming=True, found=found), found)

    def _request(self, input_items: list[dict[str, Any]], previous: str | None) -> dict[str, Any]:
        from openai import omit

        return {
            "model": self._settings.azure_ai_model_deployment,
            "input": input_items,
            # Instructions are not carried over from the previous response, so they go with every request.
            "instructions": self._settings.app_instructions or omit,
            "tools": self._tools,
            "store": True,
            # The chain grows every turn; let the service drop the oldest items rather than fail when it is full.
            "truncation": "auto",
            "previous_response_id": previous or omit,  # omit, not None: None would be sent as null
        }

    def _turn(self, conversation_id: str, message: str, streaming: bool, found: Found) -> Iterator[str]:
        import openai
        from azure.core.exceptions import ClientAuthenticationError

        previous = started_from = self._store.get(conversation_id)
        items: list[dict[str, Any]] = [{"role": "user", "content": message}]
        said = False  # text already shown in this turn: the next round's text is set apart from it
        notes: list[str] = []  # hosted tools that failed or calls that were denied: said after the reply
        try:
            for _ in range(MAX_TOOL_ROUNDS + 1):
                request = self._request(items, previous)
                response = yield from separated(self._send(request, streaming), ROUND_SEPARATOR if said else "")
                said = said or bool(response.output_text)
                note = _check_finish(response)
                notes += collect(response, found, self._settings)
                calls = [item for item in response.output if item.type == "function_call"]
                asks = [item for item in response.output if item.type == "mcp_approval_request"]
                if note and (calls or asks):  # cut at the token limit mid tool call: never run it
                    raise cut_mid_tool_call()
                if not calls and not asks:
                    # Only a finished turn moves the conversation on; a failed one leaves it where it was.
                    if not self._store.advance(conversation_id, started_from, response.id):
                        raise moved_on(conversation_id)
                    if note:
                        yield note
                    for extra in notes:
                        yield "\n" + extra
                    return
                items = [
                    {"type": "function_call_output", "call_id": c.call_id, "output": call_tool(c.name, c.arguments)}
                    for c in calls
                ]
{%- if 'mcp' in cookiecutter.tools %}
                for ask in asks:
                    approved = self._approve(approval_question(ask.server_label, ask.name, ask.arguments))
                    if not approved:
                        notes.append(f"[the call to {ask.name} on the MCP server {ask.server_label} was not approved]")
                    items.append({"type": "mcp_approval_response", "approval_request_id": ask.id, "approve": approved})
{%- else %}
                if asks:  # only an MCP tool asks for approval, and this repo was generated without one
                    raise ServiceError("the service asked to approve a tool call this app does not offer")
{%- endif %}
                previous = response.id
        except openai.BadRequestError as exc:
            if exc.code != "previous_response_not_found":
                raise service_error(exc, self._settings, self._endpoint) from exc
            raise self._not_found(conversation_id, started_from, previous) from exc
{%- if 'mcp' in cookiecutter.tools %}
        except openai.APIStatusError as exc:
            if exc.status_code == 424:  # the service could not reach the MCP server (Failed Dependency)
                detail = _detail(exc)
                # The server answered 401/403: it refused the headers the app sent, not a network problem.
                refused = re.search(r"status code: 40[13]\b", detail)
                fix = ("check APP_MCP_AUTH_TOKEN (sent as its bearer token)" if refused
                       else "check that it is up and reachable from Azure over TLS 1.2+")
                raise ServiceError(
                    f"the service could not use the MCP server {hosted.MCP_SERVER_LABEL!r} at "
                    f"{hosted.MCP_SERVER_URL} (424): {detail}; {fix}",
                    status=502,
                ) from exc
            raise service_error(exc, self._settings, self._endpoint) from exc
{%- endif %}
        except (openai.OpenAIError, ClientAuthenticationError) as exc:
            raise service_error(exc, self._settings, self._endpoint) from exc
        raise ServiceError(f"the model was still calling tools after {MAX_TOOL_ROUNDS} rounds; turn abandoned")

    def _send(self, request: dict[str, Any], streaming: bool) -> Generator[str, None, Response]:
        """One request; previous_response_not_found is retried with backoff (nothing has been shown yet then)."""
        import openai

        for delay in (*NOT_FOUND_RETRY_DELAYS, None):
            try:
                # one GenAI client span per call to the service (openai-v2 does not wrap the Responses API)
                with model_call(request["model"], self._endpoint, self._tracer_provider) as call:
                    if streaming:
                        response: Response = yield from self._streamed(request)
                    else:
                        response = self._client.responses.create(**request)
                    call.answered(response)
                if not streaming and response.output_text:
                    yield response.output_text
                return response
            except openai.BadRequestError as exc:
                if exc.code != "previous_response_not_found" or delay is None:
                    raise
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _not_found(self, conversation_id: str, started_from: str | None, missing: str | None) -> ServiceError:
        """After the retries: forget the conversation only if the service confirms its last response is gone."""
        import openai
        from azure.core.exceptions import ClientAuthenticationError

        if missing != started_from or started_from is None:
            # The id was this turn's own (a tool round): the conversation itself is intact, never forget it for that.
            return ServiceError(
                "the service could not find this turn's own previous response (an intermittent Azure error); the "
                "conversation is unchanged: send the message again",
                status=503,
            )
        try:
            self._client.responses.retrieve(started_from)
        except openai.NotFoundError:
            self._store.forget(conversation_id, expected=started_from)
            return ConversationGoneError(
                f"conversation {conversation_id} is no longer on the service (stored responses expire); "
                "it has been reset: send the message again to start over"
            )
        except (openai.OpenAIError, ClientAuthenticationError) as exc:
            return service_error(exc, self._settings, self._endpoint)
        return ServiceError(
            f"the service intermittently could not find the last response of conversation {conversation_id} (it "
            "still exists); the conversation is unchanged: send the message again in a moment",
            status=503,
        )

    def _streamed(self, request: dict[str, Any]) -> Generator[str, None, Response]:
        # The stream helper checks the event order and assembles the final response (function calls included).
        try:
            with self._client.responses.stream(**request) as events:
                for event in events:
                    if event.type == "response.output_text.delta":
                        yield event.delta
                    elif event.type == "response.failed":
                        detail = event.response.error.message if event.response.error else "no detail given"
                        raise ServiceError(f"the service could not finish the response: {detail}")
                    elif event.type == "error":
                        raise ServiceError(f"the service reported an error while streaming: {event.message}")
                    elif event.type in ("response.incomplete", "response.completed"):
                        return event.response  # _check_finish reads why an incomplete one stopped
            # The events ended without response.completed/incomplete: a cut connection or a proxy giving up.
            raise stream_ended_early()
        except RuntimeError as exc:
            # The helper raises RuntimeError for a stream that breaks its event order or ends before its final
            # event. The ServiceErrors raised above are not RuntimeErrors: they pass through unchanged.
            raise stream_ended_early() from exc

    @property
    def _endpoint(self) -> str:
        return openai_v1_url(self._settings.azure_openai_endpoint)
{%- if 'mcp' in cookiecutter.tools %}

    def _approve(self, question: str) -> bool:
        """The person's answer when someone is asking (the CLI), else APP_MCP_API_APPROVAL: never a wait."""
        if self.approver is not None:
            return self.approver(question)
        return self._settings.app_mcp_api_approval == "approve"
{%- endif %}



def _check_finish(response: Response) -> str:
    """Why the response stopped: a content-filtered reply raises (not kept), one cut at the token limit is kept
    and gets TRUNCATED_NOTE, a complete one gets nothing."""
    if response.status == "failed":  # a non-streamed request can answer 200 with a failed response
        detail = response.error.message if response.error else "no detail given"
        raise ServiceError(f"the service could not finish the response: {detail}")
    if response.status != "incomplete":
        return ""
    reason = response.incomplete_details.reason if response.incomplete_details else None
    if reason == "content_filter":
        raise reply_filtered()
    return TRUNCATED_NOTE


def make_service(settings: Settings, credential: TokenCredential | None = None) -> ResponsesChat:
    """The chat service for these settings; `credential` overrides the keyless default (auth.credential)."""
    client = openai_client(settings, settings.azure_openai_endpoint, credential)
    return ResponsesChat(client, settings, ResponseIdStore(settings.app_state_path))
