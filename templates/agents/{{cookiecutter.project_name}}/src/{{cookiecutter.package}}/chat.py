"""Chat with the Foundry agent: the project's OpenAI client runs the agent by reference on a server-side conversation.

Each turn is one `responses.create(conversation=<id>, input=<new items only>, agent_reference=<agent>)`: the
service holds the history, the agent holds the model, instructions and tools. When the agent asks for a
function tool, the app runs it (tools.py) and sends the output on the same conversation until the agent answers.

Failure paths: a conversation this app creates for a turn is deleted again (on the service and locally) when that
first turn fails, so a failed start leaves nothing behind; a cut or dropped stream, a content-filtered prompt or
reply, throttling past the retries and timeouts are one clear error each; a reply cut at the output token limit is
kept (it is on the service) and marked.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package }}.agent import MANAGED_BY, agent_name, project_client
from {{ cookiecutter.package }}.conversations import ConversationNames
from {{ cookiecutter.package }}.errors import (
    ServiceError,
    cut_mid_tool_call,
    reply_filtered,
    service_error,
    stream_ended_early,
)
from {{ cookiecutter.package }}.service import (
    ROUND_SEPARATOR,
    TRUNCATED_NOTE,
    Reply,
    ReplyStream,
    separated,
)
from {{ cookiecutter.package }}.settings import Settings
from {{ cookiecutter.package }}.tools import call_tool

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from openai import OpenAI, Stream
    from openai.types.responses import Response, ResponseInputItemParam, ResponseInputParam, ResponseStreamEvent

@dataclass(frozen=True)
class ApprovalRequest:
    """A call the agent wants to make on a remote MCP server that needs a yes or no first."""

    id: str
    server_label: str
    name: str
    arguments: str

    def describe(self) -> str:
        return f"{self.server_label}.{self.name}({self.arguments})"


Approver = Callable[[ApprovalRequest], bool]


def policy_approver(policy: str) -> Approver:
    """A fixed answer (`approve` or `deny`): what the HTTP API and any non-interactive run apply; it never waits."""
    return lambda _request: policy == "approve"


def asking_approver(fallback: Approver, read: Callable[[str], str] = input) -> Approver:
    """Ask on the terminal when this is an interactive CLI run (main thread, stdin a TTY); otherwise `fallback`.

    The HTTP API answers on worker threads, so it always applies the configured policy and never hangs on a prompt.
    """
    def approve(request: ApprovalRequest) -> bool:
        if threading.current_thread() is not threading.main_thread() or not sys.stdin.isatty():
            return fallback(request)
        print(f"\nthe agent wants to call {request.describe()}", file=sys.stderr)
        try:
            return read("allow this call? [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False
    return approve


# A model that keeps calling tools this many times in one turn is looping; stop and say so.
MAX_TOOL_ROUNDS = 8
INTERRUPTED = '{"error": "not run: the turn that asked for this call was interrupted"}'


class AgentChat:
    """Multi-turn chat with the agent; conversation ids are the service's (or a name mapped to one)."""

    def __init__(
        self, client: OpenAI, settings: Settings, names: ConversationNames, agent: str,
        approver: Approver | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._names = names
        self.agent = agent
        # APP_AGENT_VERSION pins a version; empty follows the latest (the one `agent sync` made last).
        self.version = settings.app_agent_version.strip() or None
        # Decides MCP calls that need approval; without one, every such call is denied (a turn never hangs).
        self.approver: Approver = approver or policy_approver("deny")
        self._endpoint = settings.azure_ai_project_endpoint.strip().rstrip("/")

    def reply(self, conversation_id: str | None, message: str) -> Reply:
        """Answer one message (tool calls included) and return the whole reply."""
        shown, server_id, created = self._conversation(conversation_id)
        return Reply(shown, "".join(self._first_or_next(shown, server_id, created, message, streaming=False)))

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream:
        """Answer one message, yielding text as the agent produces it."""
        shown, server_id, created = self._conversation(conversation_id)
        return ReplyStream(shown, self._first_or_next(shown, server_id, created, message, streaming=True))

    # -- conversations -------------------------------------------------------------------------------------
    def _conversation(self, requested: str | None) -> tuple[str, str, bool]:
        """(the id to show, the service's id, created now). None starts a conversation; an unknown id is looked up."""
        import openai
        from azure.core.exceptions import ClientAuthenticationError

        try:
            if requested is None:
                created = self._create()
                return created, created, True
            known = self._names.get(requested)
            if known is not None:
                return requested, known, False
            try:
                # An id from elsewhere (another machine, the API): the service knows it, so continue it.
                found, new = self._client.conversations.retrieve(requested).id, False
            except (openai.NotFoundError, openai.BadRequestError):
                # Not a service id: a name chosen by the user, for a new conversation.
                found, new = self._create(), True
            self._names.set(requested, found)
            return requested, found, new
        except (openai.OpenAIError, ClientAuthenticationError) as exc:
            raise self._error(exc) from exc

    def _first_or_next(self, shown: str, server_id: str, created: bool, message: str, streaming: bool) -> Iterator[str]:
        """The turn; when it was the first of a conversation created for it and it failed, the conversation goes."""
        try:
            yield from self._turn(server_id, message, streaming)
        except BaseException:  # an error, or Ctrl-C / a closed stream: a conversation nobody can continue is removed
            if created:
                self._discard(shown, server_id)
            raise

    def _discard(self, shown: str, server_id: str) -> None:
        """Delete a conversation on the service and forget its names; best effort (the turn's error is what counts)."""
        import openai
        from azure.core.exceptions import ClientAuthenticationError

        self._names.forget(shown, server_id)
        # The service may be what failed; a conversation left there holds only this failed turn.
        with contextlib.suppress(openai.OpenAIError, ClientAuthenticationError):
            self._client.conversations.delete(server_id)

    def _create(self) -> str:
        conversation_id = self._client.conversations.create().id
        self._names.set(conversation_id, conversation_id)
        return conversation_id

    # -- turns ---------------------------------------------------------------------------------------------
    def _turn(self, conversation_id: str, message: str, streaming: bool) -> Iterator[str]:
        import openai
        from azure.core.exceptions import ClientAuthenticationError

        items: str | ResponseInputParam = message
        said = False  # text already shown in this turn: the next round's text is set apart from it
        try:
            for round_ in range(MAX_TOOL_ROUNDS + 1):
                prefix = ROUND_SEPARATOR if said else ""
                try:
                    response = yield from separated(self._send(conversation_id, items, streaming), prefix)
                except openai.BadRequestError as exc:
                    probe = round_ == 0 and exc.code != "content_filter"  # a filtered prompt is not a stuck call
                    open_calls = self._open_calls(conversation_id) if probe else []
                    if not open_calls:
                        raise
                    # An earlier turn stopped after the agent asked for a tool (throttled, network, Ctrl-C), so the
                    # service waits for that output: close the call, then send the message, in one request.
                    items = [_output(call_id, INTERRUPTED) for call_id in open_calls]
                    items.append({"role": "user", "content": message})
                    response = yield from separated(self._send(conversation_id, items, streaming), prefix)
                said = said or bool(response.output_text)
                calls = [item for item in response.output if item.type == "function_call"]
                approvals = [_approval(item) for item in response.output if item.type == "mcp_approval_request"]
                if (calls or approvals) and response.status == "incomplete":  # cut mid call: arguments may be cut
                    raise cut_mid_tool_call()
                if not calls and not approvals:
                    if response.status == "incomplete":  # cut at the token limit (_check raised for a filter)
                        yield TRUNCATED_NOTE
{%- if 'agent' in cookiecutter.tools %}
                    if asked := _specialists(response):
                        yield "\n\nAnswered with: " + ", ".join(asked)
{%- endif %}
                    if sources := _sources(response):
                        yield "\n\nSources: " + "; ".join(sources)
                    return
                items = [_output(c.call_id, call_tool(c.name, c.arguments)) for c in calls]
                items += [_approval_response(a, self.approver(a)) for a in approvals]
        except (openai.OpenAIError, ClientAuthenticationError) as exc:
            raise self._error(exc) from exc
        raise ServiceError(f"the agent was still calling tools after {MAX_TOOL_ROUNDS} rounds; turn abandoned")

    def _send(
        self, conversation_id: str, items: str | ResponseInputParam, streaming: bool
    ) -> Generator[str, None, Response]:
        # No `model`: the agent's definition sets it. No previous_response_id: the conversation carries the state.
        reference: dict[str, str] = {"name": self.agent, "type": "agent_reference"}
        if self.version is not None:
            reference["version"] = self.version
        agent = {"agent_reference": reference}
        if streaming:
            events = self._client.responses.create(
                conversation=conversation_id, input=items, extra_body=agent, stream=True
            )
            return (yield from self._streamed(events))
        response = self._client.responses.create(conversation=conversation_id, input=items, extra_body=agent)
        _check(response)
        if response.output_text:
            yield response.output_text
        return response

    def _open_calls(self, conversation_id: str) -> list[str]:
        """Function calls at the end of the conversation that never got an output."""
        recent = self._client.conversations.items.list(conversation_id, order="desc", limit=50).data
        answered = {getattr(i, "call_id", None) for i in recent if i.type == "function_call_output"}
        calls = [str(getattr(i, "call_id", "")) for i in recent if i.type == "function_call"]
        return [call_id for call_id in reversed(calls) if call_id not in answered]

    def _streamed(self, events: Stream[ResponseStreamEvent]) -> Generator[str, None, Response]:
        final: Response | None = None
        with events:
            for event in events:
                if event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type in ("response.completed", "response.failed", "response.incomplete"):
                    final = event.response
                elif event.type == "error":
                    raise ServiceError(f"the agent's response failed: {event.message}")
        if final is None:
            raise stream_ended_early("the agent")
        _check(final)
        return final

    def _error(self, exc: Exception) -> ServiceError:
        import openai

        if isinstance(exc, openai.NotFoundError):
            return ServiceError(
                f"not found (404) at {self._endpoint}: {_detail(exc)}. If the agent '{self.agent}' does not exist "
                f"yet, run `{MANAGED_BY}`; otherwise check AZURE_AI_PROJECT_ENDPOINT and the conversation id",
                status=404,
            )
        return service_error(exc, self._settings, self._endpoint)


def _output(call_id: str, output: str) -> ResponseInputItemParam:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _approval(item: Any) -> ApprovalRequest:
    return ApprovalRequest(str(item.id), str(item.server_label), str(item.name), str(item.arguments))


def _approval_response(request: ApprovalRequest, approve: bool) -> ResponseInputItemParam:
    return {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": approve}


def _sources(response: Response) -> list[str]:
    """What the hosted tools cited (web pages, SharePoint documents, indexed files), each once, in order."""
    found: list[str] = []
    for item in response.output:
        for part in getattr(item, "content", None) or []:
            for note in getattr(part, "annotations", None) or []:
                kind = getattr(note, "type", "")
                if kind == "url_citation":
                    title, url = getattr(note, "title", "") or "", getattr(note, "url", "") or ""
                    label = f"{title} ({url})" if title and title != url else url
                elif kind == "file_citation":
                    label = str(getattr(note, "filename", "") or getattr(note, "file_id", ""))
                else:
                    continue
                if label and label not in found:
                    found.append(label)
    return found
{%- if 'agent' in cookiecutter.tools %}


def _specialists(response: Response) -> list[str]:
    """The specialist agents the agent called in this run (A2A calls: `remote_function_call` items, whose `label`
    names the connection; the item Learn's A2A sample prints), each once, in order."""
    from {{ cookiecutter.package }}.specialists import answered_by

    found: list[str] = []
    for item in response.output:
        if str(getattr(item, "type", "")) == "remote_function_call":  # not in the openai types: read loosely
            name = answered_by(str(getattr(item, "label", "") or ""))
            if name and name not in found:
                found.append(name)
    return found
{%- endif %}


def _check(response: Response) -> None:
    if response.status == "failed":
        reason = response.error.message if response.error else "no reason given"
        raise ServiceError(f"the agent's response failed: {reason}")
    details = response.incomplete_details
    if response.status == "incomplete" and details is not None and details.reason == "content_filter":
        raise reply_filtered()



def _detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"]).rstrip(".")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def make_service(settings: Settings, credential: TokenCredential | None = None) -> AgentChat:
    """The chat service for these settings; `credential` overrides the keyless default (auth.credential)."""
    project = project_client(settings, credential)
    # The OpenAI client on {project endpoint}/openai/v1 with a bearer token provider for the project scope.
    client = project.get_openai_client(max_retries=settings.app_max_retries, timeout=settings.app_timeout_seconds)
    approver = {% if 'mcp' in cookiecutter.tools %}asking_approver(policy_approver(settings.app_mcp_api_approval)){% else %}None{% endif %}
    return AgentChat(client, settings, ConversationNames(settings.app_state_path), agent_name(settings), approver)
