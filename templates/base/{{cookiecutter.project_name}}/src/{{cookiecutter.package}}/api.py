"""The HTTP API: POST /chat {conversation_id?, message} -> {conversation_id, reply}; GET /healthz.

No authentication of its own: run it behind your platform's (for example Container Apps or App Service
authentication), or on localhost. Start it with `{{ cookiecutter.project_name }} serve`
or `uvicorn {{ cookiecutter.package }}.api:app`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from {{ cookiecutter.package }}.errors import ContentFilterError, ServiceError, SettingsError
from {{ cookiecutter.package }}.service import ChatService


class ChatRequest(BaseModel):
    """One user message; no conversation_id starts a new conversation."""

    conversation_id: str | None = Field(default=None, min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=100_000)


class ChatResponse(BaseModel):
    """The reply and the id that continues the conversation."""

    conversation_id: str
    reply: str


def _default_service() -> ChatService:
    from {{ cookiecutter.package }}.cli import make_service

    return make_service()


def create_app(service_factory: Callable[[], ChatService] = _default_service) -> FastAPI:
    """The API; the chat service is built on the first request, so /healthz answers even before settings exist."""
    app = FastAPI(
        title="{{ cookiecutter.project_name }}",
        summary="{{ cookiecutter.runtime_title }} chat",
    )
    lock = threading.Lock()
    built: list[ChatService] = []

    def service() -> ChatService:
        with lock:
            if not built:
                built.append(service_factory())
            return built[0]

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/chat")
    def chat(request: ChatRequest) -> ChatResponse:
        # A plain (sync) endpoint: FastAPI runs it in a worker thread, so the blocking SDK call is fine.
        try:
            reply = service().reply(request.conversation_id, request.message)
        except SettingsError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from None
        except ContentFilterError as exc:  # the caller's content, not a service failure
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except ServiceError as exc:
            if exc.status == 429:
                headers = {"Retry-After": str(int(exc.retry_after or 1))}
                raise HTTPException(status_code=429, detail=str(exc), headers=headers) from None
            raise HTTPException(status_code=502, detail=str(exc)) from None
        return ChatResponse(conversation_id=reply.conversation_id, reply=reply.text)

    return app


app = create_app()
