"""Chat on the Responses API. The service keeps the conversation (store=true): each turn sends only the new
input with previous_response_id, runs the function tools the model asks for, and remembers the last response id.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package }}.auth import openai_client, openai_v1_url
from {{ cookiecutter.package }}.errors import ServiceError, service_error
from {{ cookiecutter.package }}.service import Reply, ReplyStream, new_conversation_id
from {{ cookiecutter.package }}.settings import Settings
from {{ cookiecutter.package }}.store import ResponseIdStore
from {{ cookiecutter.package }}.tools import call_tool, responses_tools

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from openai import OpenAI
    from openai.types.responses import Response

# A model that keeps calling tools this many times in one turn is looping; stop and say so.
MAX_TOOL_ROUNDS = 8


def builtin_tools(settings: Settings) -> list[dict[str, Any]]:
    """Hosted tools the service runs itself, switched on by settings."""
    tools: list[dict[str, Any]] = []
    store_ids = [s.strip() for s in settings.app_file_search_vector_store_ids.split(",") if s.strip()]
    if store_ids:
        tools.append({"type": "file_search", "vector_store_ids": store_ids})
    if settings.app_code_interpreter:
        tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
    return tools


class ResponsesChat:
    """Multi-turn chat with tools; the local store holds one response id per conversation, nothing else."""

    def __init__(self, client: OpenAI, settings: Settings, store: ResponseIdStore) -> None:
        self._client = client
        self._settings = settings
        self._store = store
        self._tools = responses_tools() + builtin_tools(settings)

    def reply(self, conversation_id: str | None, message: str) -> Reply:
        """Answer one message (tool calls included) and return the whole reply."""
        conversation_id = conversation_id or new_conversation_id()
        text = "".join(self._turn(conversation_id, message, streaming=False))
        return Reply(conversation_id, text)

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream:
        """Answer one message, yielding text as the model produces it."""
        conversation_id = conversation_id or new_conversation_id()
        return ReplyStream(conversation_id, self._turn(conversation_id, message, streaming=True))

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

    def _turn(self, conversation_id: str, message: str, streaming: bool) -> Iterator[str]:
        import openai
        from azure.core.exceptions import ClientAuthenticationError

        previous = started_from = self._store.get(conversation_id)
        items: list[dict[str, Any]] = [{"role": "user", "content": message}]
        try:
            for _ in range(MAX_TOOL_ROUNDS + 1):
                request = self._request(items, previous)
                if streaming:
                    response = yield from self._streamed(request)
                else:
                    response = self._client.responses.create(**request)
                    if response.output_text:
                        yield response.output_text
                calls = [item for item in response.output if item.type == "function_call"]
                if not calls:
                    # Only a finished turn moves the conversation on; a failed one leaves it where it was.
                    if not self._store.advance(conversation_id, started_from, response.id):
                        raise ServiceError(
                            f"conversation {conversation_id} moved on while this turn ran (another request on the "
                            "same conversation); this answer was not kept: send the message again"
                        )
                    return
                items = [
                    {"type": "function_call_output", "call_id": c.call_id, "output": call_tool(c.name, c.arguments)}
                    for c in calls
                ]
                previous = response.id
        except openai.BadRequestError as exc:
            if exc.code != "previous_response_not_found":
                raise service_error(exc, self._settings, self._endpoint) from exc
            self._store.forget(conversation_id)
            raise ServiceError(
                f"conversation {conversation_id} is no longer on the service (stored responses expire); "
                "it has been reset: send the message again to start over"
            ) from exc
        except (openai.OpenAIError, ClientAuthenticationError) as exc:
            raise service_error(exc, self._settings, self._endpoint) from exc
        raise ServiceError(f"the model was still calling tools after {MAX_TOOL_ROUNDS} rounds; turn abandoned")

    def _streamed(self, request: dict[str, Any]) -> Generator[str, None, Response]:
        # The stream helper checks the event order and assembles the final response (function calls included).
        with self._client.responses.stream(**request) as events:
            for event in events:
                if event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type == "response.failed":
                    detail = event.response.error.message if event.response.error else "no detail given"
                    raise ServiceError(f"the service could not finish the response: {detail}")
                elif event.type == "error":
                    raise ServiceError(f"the service reported an error while streaming: {event.message}")
                elif event.type == "response.incomplete":
                    # Cut short (for example by max_output_tokens): keep the partial answer and continue from it.
                    return event.response
            final: Response = events.get_final_response()
        return final

    @property
    def _endpoint(self) -> str:
        return openai_v1_url(self._settings.azure_openai_endpoint)


def make_service(settings: Settings, credential: TokenCredential | None = None) -> ResponsesChat:
    """The chat service for these settings; `credential` overrides the keyless default (auth.credential)."""
    client = openai_client(settings, settings.azure_openai_endpoint, credential)
    return ResponsesChat(client, settings, ResponseIdStore(settings.app_state_path))
