"""What every runtime's chat service offers the CLI and the API: a reply, or a reply streamed as text deltas."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

# A reply cut at the model's output token limit is kept in the conversation (so "continue" picks it up) and
# marked: the user sees this note after the partial text, and an app-held history stores it with the text.
TRUNCATED_NOTE = "\n[reply cut off at the model's output token limit; say 'continue' for the rest]"
# Between the text a model says before calling tools and the answer it gives after them.
ROUND_SEPARATOR = "\n\n"

R = TypeVar("R")


@dataclass(frozen=True)
class Citation:
    """A source the reply cites: a searched file (its name) or a web page (title and url)."""

    title: str
    url: str = ""
    file_id: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file a tool produced: in a code interpreter container (download it with the CLI) or saved locally."""

    name: str
    container_id: str = ""
    file_id: str = ""
    path: str = ""


@dataclass
class Found:
    """What a turn's tools brought back besides text, collected while the turn runs."""

    citations: list[Citation] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    def cite(self, citation: Citation) -> None:
        if citation not in self.citations:
            self.citations.append(citation)

    def attach(self, attachment: Attachment) -> None:
        if attachment not in self.attachments:
            self.attachments.append(attachment)


@dataclass(frozen=True)
class Reply:
    """The model's answer to one user message, with the sources it cites and the files its tools produced."""

    conversation_id: str
    text: str
    citations: tuple[Citation, ...] = ()
    attachments: tuple[Attachment, ...] = ()


class ReplyStream:
    """Text deltas of one reply, in order. The conversation id is known up front; `text`, `citations` and
    `attachments` once iteration ends."""

    def __init__(self, conversation_id: str, deltas: Iterator[str], found: Found | None = None) -> None:
        self.conversation_id = conversation_id
        self._deltas = deltas
        self._parts: list[str] = []
        self._found = found or Found()

    @property
    def citations(self) -> tuple[Citation, ...]:
        return tuple(self._found.citations)

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(self._found.attachments)

    def __iter__(self) -> Iterator[str]:
        for delta in self._deltas:
            self._parts.append(delta)
            yield delta

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def close(self) -> None:
        """Stop early (Ctrl-C, a client gone): closes the request's stream and runs the turn's cleanup now, not
        whenever the garbage collector gets to it."""
        close = getattr(self._deltas, "close", None)
        if close is not None:
            close()


class ChatService(Protocol):
    """A multi-turn chat: the same conversation id continues a conversation, None starts a new one."""

    def reply(self, conversation_id: str | None, message: str) -> Reply: ...

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream: ...


# Asked before a tool call that needs the user's approval (a remote MCP server's tool): the question in, yes or no.
Approver = Callable[[str], bool]


@runtime_checkable
class Approving(Protocol):
    """A service whose tools may need approval: the interactive CLI sets `approver` to ask the user; without one
    (the HTTP API) the service applies its configured policy and never waits for anyone."""

    approver: Approver | None


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id."""
    return uuid.uuid4().hex


def separated(pieces: Generator[str, None, R], prefix: str) -> Generator[str, None, R]:
    """The pieces of one request's text, the first one preceded by `prefix`; returns the request's result.

    Used between tool rounds: `prefix` is ROUND_SEPARATOR once the turn has shown text, so a round's preamble is
    set apart from the answer that follows it.
    """
    try:
        while True:
            try:
                piece = next(pieces)
            except StopIteration as done:
                result: R = done.value
                return result
            if piece:
                yield prefix + piece
                prefix = ""
    finally:
        pieces.close()  # a reader that stops early (Ctrl-C, a closed stream) closes the request's stream too
