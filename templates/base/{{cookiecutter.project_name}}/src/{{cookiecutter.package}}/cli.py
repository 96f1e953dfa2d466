"""The command line, installed as the console script `{{ cookiecutter.project_name }}`.

Commands: chat (one message, or an interactive chat that streams), serve (the HTTP API), settings.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

{% for m in cookiecutter.cli_modules -%}
from {{ cookiecutter.package }} import {{ m }}
{% endfor -%}
from {{ cookiecutter.package }}.errors import AppError
from {{ cookiecutter.package }}.service import Approving, Attachment, ChatService, Citation
from {{ cookiecutter.package }}.settings import load_settings

EXIT_WORDS = {"exit", "quit", "/exit", "/quit"}
APP = "{{ cookiecutter.project_name }}"  # the console script's name, in the hints the CLI prints


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each command sets `handler(args) -> exit code`."""
    parser = argparse.ArgumentParser(
        prog="{{ cookiecutter.project_name }}",
        description=(
            "{{ cookiecutter.runtime_title }} app; "
            "keyless: az login locally, a managed identity in Azure."
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show SDK logs (credentials tried, retries)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = sub.add_parser("chat", help="send a message, or chat interactively when no message is given")
    chat.add_argument("-c", "--conversation", metavar="ID", help="continue this conversation (default: a new one)")
    chat.add_argument("message", nargs="*", help="the message; omit it for an interactive chat with streaming")
    chat.set_defaults(handler=_chat)

    serve = sub.add_parser("serve", help="run the HTTP API: POST /chat, POST /chat/stream, GET /healthz")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)

    show = sub.add_parser("settings", help="show the settings the app resolved (no secrets: there are none)")
    show.set_defaults(handler=_settings)
{%- for m in cookiecutter.cli_modules %}
    {{ m }}.register(sub)
{%- endfor %}
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: an AppError is one line on stderr and exit code 1, never a traceback."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _configure_logging(verbose: bool) -> None:
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        # azure-identity logs each failed credential at WARNING; the CLI reports the failure in one line itself.
        logging.getLogger("azure").setLevel(logging.ERROR)


def make_service() -> ChatService:
    """The runtime's chat service from the current settings (imported late: the SDKs take a while to load)."""
    from {{ cookiecutter.package }}.chat import make_service as make

    return make(load_settings())


def extras(citations: Sequence[Citation], attachments: Sequence[Attachment]) -> list[str]:
    """The lines shown after a reply: numbered sources, then files the tools produced and how to get them."""
    lines = [f"[{i}] {c.title}" + (f" <{c.url}>" if c.url else "") for i, c in enumerate(citations, 1)]
    for a in attachments:
        if a.path:
            lines.append(f"saved {a.name}: {a.path}")
        elif a.container_id:
            lines.append(f"file {a.name}: `{APP} files download {a.container_id} {a.file_id}`")
    return lines


def ask_user(read: Callable[[str], str]) -> Callable[[str], bool]:
    """An approver that asks the question at the prompt; anything but y/yes is a no."""
    return lambda question: read(f"\n{question} [y/N] ").strip().lower() in {"y", "yes"}


def _chat(args: argparse.Namespace) -> int:
    service = make_service()
    message = " ".join(args.message).strip()
    if not message:
        return repl(service, args.conversation)
    if isinstance(service, Approving) and sys.stdin.isatty():
        service.approver = ask_user(input)
    reply = service.reply(args.conversation, message)
    print(reply.text)
    for line in extras(reply.citations, reply.attachments):
        print(line)
    print(f"conversation: {reply.conversation_id}", file=sys.stderr)
    return 0


def repl(
    service: ChatService,
    conversation_id: str | None = None,
    read: Callable[[str], str] = input,
    out: TextIO | None = None,
) -> int:
    """Interactive chat: replies stream as they are generated; `exit`, Ctrl-D or Ctrl-C ends it."""
    out = out or sys.stdout
    if isinstance(service, Approving):
        service.approver = ask_user(read)
    print("Chat started; type `exit` or press Ctrl-D to end.", file=sys.stderr)
    while True:
        try:
            line = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the prompt: end, but say the id
            break
        if line.lower() in EXIT_WORDS:
            break
        if not line:
            continue
        stream = None
        try:
            stream = service.stream(conversation_id, line)
            out.write("assistant> ")
            for delta in stream:
                out.write(delta)
                out.flush()
            out.write("\n")
            for extra in extras(stream.citations, stream.attachments):
                out.write(extra + "\n")
            conversation_id = stream.conversation_id
        except AppError as exc:  # one failed turn does not end the chat
            out.write("\n")
            print(f"error: {exc}", file=sys.stderr)
        except KeyboardInterrupt:  # Ctrl-C mid-reply: close the request's stream now, then end and say the id
            print("\n[interrupted]", file=sys.stderr)
            break
        finally:
            if stream is not None:
                stream.close()
    if conversation_id:
        print(f"conversation: {conversation_id}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from {{ cookiecutter.package }}.api import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0


def _settings(_args: argparse.Namespace) -> int:
    for name, value in load_settings().model_dump().items():
        print(f"{name.upper()}={value}")
    return 0
