{% set lc = cookiecutter.framework == 'langchain' -%}
"""Chat completions on the Foundry /openai/v1/ endpoint, for any catalog model (Mistral, Llama, DeepSeek, Phi,
OpenAI...): switching model is changing AZURE_AI_MODEL_DEPLOYMENT. The service keeps nothing between requests,
so the app owns the conversation: the state layer stores it, trims it to APP_CONTEXT_TOKENS and threads tool
calls; this module only turns one request into one chat-completions call.
{%- if lc %} That call is made with LangChain's
ChatOpenAI (langchain_model.py) on the same settings and keyless token provider; its errors are the same messages.
{%- endif %}

Every answer is checked for its finish reason before it is stored: "stop" and "tool_calls" are complete; a reply
cut at the token limit ("length") is kept with TRUNCATED_NOTE appended, so neither the user nor a later request
takes it for a whole answer; a reply stopped by the content filter, or a stream that ends without a finish reason
(cut connection), is one clear error and nothing of the turn is stored.
"""

from __future__ import annotations

import hashlib
{%- if 'file-search' in cookiecutter.tools or 'mcp' in cookiecutter.tools %}
import json
{%- endif %}
import logging
import re
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

{% if lc %}from {{ cookiecutter.package }} import langchain_model
{% endif %}from {{ cookiecutter.package }}.auth import {% if not lc or 'file-search' in cookiecutter.tools %}openai_client, {% endif %}openai_v1_url
from {{ cookiecutter.package }}.errors import (
{%- if 'file-search' in cookiecutter.tools %}
    AppError,
{%- endif %}
    ServiceError,
    cut_mid_tool_call,
    moved_on,
    reply_filtered,
    service_error,
    stream_ended_early,
)
{%- if 'file-search' in cookiecutter.tools %}
from {{ cookiecutter.package }}.file_search import SEARCH_TOOL, FileSearch, cited, search_output, sources_note
{%- endif %}
{%- if 'mcp' in cookiecutter.tools %}
from {{ cookiecutter.package }}.mcp_tools import McpTools
{%- endif %}
from {{ cookiecutter.package }}.service import TRUNCATED_NOTE, Reply, ReplyStream, new_conversation_id
from {{ cookiecutter.package }}.settings import Settings
from {{ cookiecutter.package }}.state import (
    ConversationMovedOn,
    ConversationStore,
    Message,
    ToolLoopError,
    open_store,
    run_turn,
)
from {{ cookiecutter.package }}.tools import call_tool, chat_completions_tools

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
{%- if lc %}
    from langchain_openai import ChatOpenAI
{%- else %}
    from openai import OpenAI
    from openai.types.chat import ChatCompletionMessageToolCall
{%- endif %}


def portable_call_id(raw: str) -> str:
    """A tool-call id every provider accepts: Mistral takes only 9 letters or digits, OpenAI any string.

    Ids are rewritten once, when the assistant message is stored, so the history can move to another model.
    """
    return raw if re.fullmatch(r"[A-Za-z0-9]{9}", raw) else hashlib.sha256(raw.encode()).hexdigest()[:9]


def assistant_message(content: str | None, tool_calls: list[dict[str, Any]]) -> Message:
    """The assistant's message as it is stored and sent back: chat-completions shape, nothing provider-specific."""
    message: Message = {"role": "assistant", "content": content or ("" if not tool_calls else None)}
    if tool_calls:
        message["tool_calls"] = [{**call, "id": portable_call_id(call["id"])} for call in tool_calls]
    return message


def finished(content: str, tool_calls: list[dict[str, Any]], finish_reason: str | None) -> tuple[str, str]:
    """(content to store, text to show after what was already shown) for a finished answer; raises when the
    answer must not be stored: filtered, cut before its finish reason, or tool calls cut at the token limit."""
    if finish_reason in ("stop", "tool_calls", "function_call"):
        return content, ""
    if finish_reason == "content_filter":
        raise reply_filtered()
    if finish_reason == "length" and not tool_calls:
        return content + TRUNCATED_NOTE, TRUNCATED_NOTE
    if finish_reason == "length":
        raise cut_mid_tool_call()
    raise stream_ended_early()  # None: the stream ended before the chunk that carries the finish reason
{%- if not lc %}


def _tool_call(call: ChatCompletionMessageToolCall) -> dict[str, Any]:
    function = getattr(call, "function", None)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": function.name if function else "", "arguments": function.arguments if function else ""},
    }
{%- endif %}


class InferenceChat:
    """Multi-turn chat with tools; history lives in a ConversationStore (SQLite at APP_STATE_PATH by default).

    Tools: the example function tools (tools.py){% if 'mcp' in cookiecutter.tools %}, the MCP server's tools (mcp_tools.py){% endif %}{% if 'file-search' in cookiecutter.tools %}, and search_files over the
    files added with `files add` (file_search.py), whose passages are cited after the answer{% endif %}.
    """

    def __init__(
        self,
{%- if lc %}
        model: ChatOpenAI,
{%- else %}
        client: OpenAI,
{%- endif %}
        settings: Settings,
        store: ConversationStore,
{%- if 'mcp' in cookiecutter.tools %}
        mcp: McpTools | None = None,
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}
        files: FileSearch | None = None,
{%- endif %}
    ) -> None:
{%- if lc %}
        self._model = model
{%- else %}
        self._client = client
{%- endif %}
        self._settings = settings
        self._store = store
{%- if 'mcp' in cookiecutter.tools %}
        self._mcp = mcp
        # With APP_MCP_APPROVAL=always each MCP call asks this (question -> yes?); the interactive chat sets it, the
        # API leaves it None and applies APP_MCP_API_APPROVAL at once (it never waits for a person).
        self.approver: Callable[[str], bool] | None = None
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}
        self._files = files
{%- endif %}
        self._definitions: list[dict[str, Any]] | None = None
        # A model that cannot call tools rejects a request carrying them: APP_MODEL_TOOLS (from the catalog)
        # turns them off for the whole session, and the app says so once.
        if not settings.app_model_tools:
            logging.getLogger(__name__).warning(
                "tools are off for deployment '%s' (APP_MODEL_TOOLS=false: its model cannot call tools)",
                settings.azure_ai_model_deployment,
            )

    @property
    def _tools(self) -> list[dict[str, Any]]:
        """Every tool definition sent to the model, built on the first request (an MCP server is asked then)."""
        if self._definitions is None:
            tools = chat_completions_tools() if self._settings.app_model_tools else []
{%- if 'mcp' in cookiecutter.tools %}
            if tools and self._mcp is not None:
                tools += self._mcp.definitions()
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}
            if tools and self._files is not None:
                tools.append(SEARCH_TOOL)
{%- endif %}
            self._definitions = tools
        return self._definitions

    def _tool_runner(self{% if 'file-search' in cookiecutter.tools %}, citations: list[str]{% endif %}) -> Callable[[str, str], str]:
        """Runs the tool the model called{% if 'file-search' in cookiecutter.tools %}; search_files passages are numbered across the turn and collected
        in `citations`{% endif %}."""

        def run(name: str, arguments_json: str) -> str:
{%- if 'mcp' in cookiecutter.tools %}
            if self._mcp is not None and name in self._mcp.tools():
                if self._mcp.approval and not self._approved(name, arguments_json):
                    refused = f"this call of {name} was not approved (APP_MCP_APPROVAL=always)"
                    return json.dumps({"error": refused})
                return self._mcp.call(name, arguments_json)
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}
            if self._files is not None and name == "search_files":
                return self._search(arguments_json, citations)
{%- endif %}
            return call_tool(name, arguments_json)

        return run
{%- if 'mcp' in cookiecutter.tools %}

    def _approved(self, name: str, arguments_json: str) -> bool:
        """Ask `approver` (the interactive chat sets it); without one (the HTTP API) APP_MCP_API_APPROVAL decides."""
        if self.approver is None:
            return self._settings.app_mcp_api_approval.strip().lower() == "approve"
        return self.approver(f"Run the MCP tool {name} with {arguments_json}?")
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}

    def _search(self, arguments_json: str, citations: list[str]) -> str:
        assert self._files is not None
        try:
            query = str(json.loads(arguments_json or "{}").get("query", ""))
        except (ValueError, AttributeError):
            return json.dumps({"error": "arguments must be a JSON object with a query"})
        try:
            passages = self._files.search(query)
        except AppError as exc:  # the model reads the failure and says so; the turn goes on
            logging.getLogger(__name__).warning("search_files: %s", exc)
            return json.dumps({"error": str(exc)})
        output = search_output(passages, len(citations) + 1)
        citations += [p.citation(len(citations) + 1 + i) for i, p in enumerate(passages)]
        return output
{%- endif %}

    def reply(self, conversation_id: str | None, message: str) -> Reply:
        """Answer one message (tool calls included) and return the whole reply."""
        conversation_id = conversation_id or new_conversation_id()
        return Reply(conversation_id, "".join(self._turn(conversation_id, message, streaming=False)))

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream:
        """Answer one message, yielding text as the model produces it."""
        conversation_id = conversation_id or new_conversation_id()
        return ReplyStream(conversation_id, self._turn(conversation_id, message, streaming=True))

    def _turn(self, conversation_id: str, message: str, streaming: bool) -> Iterator[str]:
        import openai
        from azure.core.exceptions import ClientAuthenticationError

{%- if 'file-search' in cookiecutter.tools %}
        citations: list[str] = []
{%- endif %}
        try:
            {% if 'file-search' in cookiecutter.tools %}answer = {% endif %}yield from run_turn(
                self._store, conversation_id, message,
                self._complete_streaming if streaming else self._complete, self._tool_runner({% if 'file-search' in cookiecutter.tools %}citations{% endif %}),
                system_prompt=self._settings.app_instructions, token_budget=self._settings.app_context_tokens,
            )
        except openai.BadRequestError as exc:
            if exc.code != "context_length_exceeded":
                raise service_error({% if lc %}langchain_model.original_error(exc){% else %}exc{% endif %}, self._settings, self._endpoint) from exc
            raise ServiceError(
                f"the conversation does not fit deployment '{self._settings.azure_ai_model_deployment}''s context "
                f"window: lower APP_CONTEXT_TOKENS (now {self._settings.app_context_tokens}) or start a new one",
                status=400,
            ) from exc
        except (openai.OpenAIError, ClientAuthenticationError) as exc:
            raise service_error({% if lc %}langchain_model.original_error(exc){% else %}exc{% endif %}, self._settings, self._endpoint) from exc
        except ToolLoopError as exc:
            raise ServiceError(f"{exc}; turn abandoned") from exc
        except ConversationMovedOn as exc:
            raise moved_on(conversation_id) from exc
{%- if 'file-search' in cookiecutter.tools %}
        yield sources_note(cited(str(answer.get("content") or ""), citations))
{%- endif %}
{%- if lc %}

    def _options(self, allow_tools: bool) -> dict[str, Any]:
        """The tool options of one request; ChatOpenAI adds the deployment name (`model`) and the messages."""
        if not self._tools:
            return {}
        # The last round of a turn forbids tools, so every turn ends in an answer.
        return {"tools": self._tools} if allow_tools else {"tools": self._tools, "tool_choice": "none"}

    def _complete(self, messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
        answer = self._model.invoke(langchain_model.to_langchain(messages), **self._options(allow_tools))
        text, calls = langchain_model.from_langchain(answer)
        content, _ = finished(text, calls, langchain_model.finish_reason(answer))
        if content:
            yield content
        return assistant_message(content, calls)

    def _complete_streaming(self, messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
        from langchain_core.messages import AIMessageChunk

        whole = AIMessageChunk(content="")
        reason: str | None = None
        for chunk in self._model.stream(langchain_model.to_langchain(messages), **self._options(allow_tools)):
            # A tool call arrives in pieces keyed by index (id and name first, then argument fragments): adding the
            # chunks joins them, and the text.
            whole += chunk
            reason = langchain_model.finish_reason(chunk) or reason
            if chunk.text:
                yield chunk.text
        text, calls = langchain_model.from_langchain(whole)
        content, note = finished(text, calls, reason)
        if note:
            yield note
        return assistant_message(content, calls)
{%- else %}

    def _request(self, messages: list[Message], allow_tools: bool) -> dict[str, Any]:
        from openai import omit

        if not self._tools:
            return {"model": self._settings.azure_ai_model_deployment, "messages": messages}
        return {
            "model": self._settings.azure_ai_model_deployment,  # the deployment name, whichever provider's model
            "messages": messages,
            "tools": self._tools,
            # The last round of a turn forbids tools, so every turn ends in an answer.
            "tool_choice": omit if allow_tools else "none",
        }

    def _complete(self, messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
        completion = self._client.chat.completions.create(**self._request(messages, allow_tools))
        if not completion.choices:
            raise ServiceError("the service returned no choices (was the prompt filtered?)")
        choice = completion.choices[0]
        calls = [_tool_call(c) for c in choice.message.tool_calls or ()]
        content, _ = finished(choice.message.content or "", calls, choice.finish_reason)
        if content:
            yield content
        return assistant_message(content, calls)

    def _complete_streaming(self, messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
        parts: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        finish_reason: str | None = None
        with self._client.chat.completions.create(**self._request(messages, allow_tools), stream=True) as chunks:
            for chunk in chunks:
                for choice in chunk.choices:  # Azure's first chunk has no choices (content-filter results only)
                    finish_reason = choice.finish_reason or finish_reason
                    delta = choice.delta
                    if delta.content:
                        parts.append(delta.content)
                        yield delta.content
                    # A tool call arrives in pieces keyed by index: the id and name first, then argument fragments.
                    for piece in delta.tool_calls or ():
                        call = calls.setdefault(
                            piece.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                        )
                        call["id"] = piece.id or call["id"]
                        if piece.function is not None:
                            call["function"]["name"] += piece.function.name or ""
                            call["function"]["arguments"] += piece.function.arguments or ""
        tool_calls = [calls[i] for i in sorted(calls)]
        content, note = finished("".join(parts), tool_calls, finish_reason)
        if note:
            yield note
        return assistant_message(content, tool_calls)
{%- endif %}

    @property
    def _endpoint(self) -> str:
        return openai_v1_url(self._settings.azure_openai_endpoint)


def make_service(settings: Settings, credential: TokenCredential | None = None) -> InferenceChat:
    """The chat service for these settings; `credential` overrides the keyless default (auth.credential)."""
{%- if 'file-search' in cookiecutter.tools %}
    from {{ cookiecutter.package }}.auth import credential as default_credential

    cred = credential or default_credential(settings)
    client = openai_client(settings, settings.azure_openai_endpoint, cred)
{%- elif not lc %}
    client = openai_client(settings, settings.azure_openai_endpoint, credential)
{%- endif %}
    return InferenceChat(
{%- if lc %}
        langchain_model.chat_model(settings, {% if 'file-search' in cookiecutter.tools %}cred{% else %}credential{% endif %}),
{%- else %}
        client,
{%- endif %}
        settings,
        open_store(settings.app_state_path),
{%- if 'mcp' in cookiecutter.tools %}
        mcp=McpTools(settings),
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}
        files=FileSearch(settings, client, cred),
{%- endif %}
    )
