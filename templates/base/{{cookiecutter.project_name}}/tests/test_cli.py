"""The console script: one-shot chat, the same conversation across runs, the streaming REPL, clear errors."""

from __future__ import annotations

import inspect
import io
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from fake_foundry import FILTERED_PROMPT, FakeFoundry

from {{ cookiecutter.package }}.cli import main, repl
from {{ cookiecutter.package }}.service import ChatService, Reply, ReplyStream

PACKAGE = "{{ cookiecutter.package }}"


def test_chat_prints_the_reply_and_the_conversation_id(
    app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "--conversation", "c1", "my", "name", "is", "Ada"]) == 0
    out = capsys.readouterr()
    assert out.out == "Nice to meet you, Ada.\n"
    assert out.err == "conversation: c1\n"
    assert main(["chat", "-c", "c1", "what is my name?"]) == 0
    assert capsys.readouterr().out == "Your name is Ada.\n"


def test_new_conversation_id_is_printed_for_reuse(app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "my name is Ada"]) == 0
    conversation = capsys.readouterr().err.strip().removeprefix("conversation: ")
    assert conversation
    assert main(["chat", "--conversation", conversation, "what is my name?"]) == 0
    assert capsys.readouterr().out == "Your name is Ada.\n"


def test_conversation_continues_across_processes(app_env: FakeFoundry) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", PACKAGE, "chat", "--conversation", "restart", *args]
        return subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=120, check=False)

    first = run("my name is Ada")
    assert (first.returncode, first.stdout) == (0, "Nice to meet you, Ada.\n"), first.stderr
    second = run("what is my name?")
    assert (second.returncode, second.stdout) == (0, "Your name is Ada.\n"), second.stderr


def test_repl_streams_and_keeps_the_conversation(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("my name is Ada\n\ncalculate 3*3\nwhat is my name?\nexit\nignored\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr()
    replies = [line.split("assistant> ", 1)[1] for line in out.out.splitlines() if "assistant> " in line]
    assert replies == ["Nice to meet you, Ada.", "The calculate tool says: 9", "Your name is Ada."]
    assert "conversation: " in out.err
    assert all(r.body.get("stream") is True for r in app_env.requests if r.method == "POST" and r.body)


def test_repl_reports_a_failed_turn_and_goes_on(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app_env.fail_next(times=3)
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\nmy name is Ada\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr()
    assert "error: " in out.err and "429" in out.err
    assert "Nice to meet you, Ada." in out.out


def test_repl_survives_a_cut_and_a_dropped_stream(
    app_env: FakeFoundry, service: ChatService, capsys: pytest.CaptureFixture[str]
) -> None:
    script: list[tuple[str, Callable[[int | None], None] | None]] = [
        ("my name is Ada", None),
        ("tell me a story", app_env.cut_next_stream),  # the stream ends part-way, cleanly
        ("tell me a story", app_env.drop_next_stream),  # the connection drops part-way
        ("what is my name?", None),
    ]

    def read(_prompt: str) -> str:
        if not script:
            raise EOFError
        line, break_next_stream = script.pop(0)
        if break_next_stream is not None:
            break_next_stream(3)
        return line

    out = io.StringIO()
    assert repl(service, read=read, out=out) == 0
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, err
    assert "stream ended before" in errors[0] and "dropped" in errors[1]
    assert "Traceback" not in err
    assert out.getvalue().rstrip().endswith("assistant> Your name is Ada.")


def test_filtered_prompt_is_one_line(app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", FILTERED_PROMPT]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the service's content filter blocked this message") and err.count("\n") == 1


def test_missing_setting_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hello"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: missing setting(s): ")
    assert "azd env get-values" in err and err.count("\n") == 1


def test_throttling_after_retries_is_one_line(app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    app_env.fail_next(times=10)
    assert main(["chat", "hello"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "429" in err and err.count("\n") == 1


def test_failed_sign_in_is_one_line_without_sdk_noise(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-right-secret")  # the identity endpoint refuses the request
    command = [sys.executable, "-m", PACKAGE, "chat", "hello"]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: could not get an Entra ID token") and result.stderr.count("\n") == 1
    assert app_env.requests == []


def test_settings_command_shows_resolved_settings(app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "APP_MAX_RETRIES=2" in out
    assert f"AZURE_AI_MODEL_DEPLOYMENT={os.environ['AZURE_AI_MODEL_DEPLOYMENT']}" in out


class _InterruptOnReply(io.StringIO):
    """A terminal where the user presses Ctrl-C as the first words of a reply appear."""

    def write(self, text: str) -> int:
        if text.strip() and not text.startswith("assistant>"):
            raise KeyboardInterrupt
        return super().write(text)


class _Watching:
    """The app's own chat service, with each stream's close() counted (a real service and real streams)."""

    def __init__(self, inner: ChatService) -> None:
        self.inner = inner
        self.streams: list[ReplyStream] = []
        self.closed = 0

    def reply(self, conversation_id: str | None, message: str) -> Reply:
        return self.inner.reply(conversation_id, message)

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream:
        watcher = self

        class Watched(ReplyStream):
            def close(self) -> None:
                watcher.closed += 1
                super().close()

        inner = self.inner.stream(conversation_id, message)
        stream = Watched(inner.conversation_id, inner._deltas)
        self.streams.append(stream)
        return stream


def test_ctrl_c_mid_reply_closes_the_stream_and_says_the_conversation(
    service: ChatService, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = service.reply(None, "my name is Ada").conversation_id
    lines = ["tell me a story", "never read"]
    watching = _Watching(service)
    try:
        code = repl(watching, ada, read=lambda _prompt: lines.pop(0), out=_InterruptOnReply())
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C mid-reply escaped the REPL: the conversation id was never printed")
    assert code == 0
    err = capsys.readouterr().err
    assert "[interrupted]" in err and f"conversation: {ada}" in err  # the id to resume with `-c`
    assert lines == ["never read"]  # Ctrl-C ends the chat, as it does at the prompt
    assert watching.closed == 1  # the request's stream was closed then, not left to the garbage collector
    assert inspect.getgeneratorstate(watching.streams[0]._deltas) == inspect.GEN_CLOSED  # type: ignore[arg-type]
    assert service.reply(ada, "what is my name?").text == "Your name is Ada."


def test_a_closed_stream_ends_and_the_conversation_goes_on(service: ChatService) -> None:
    ada = service.reply(None, "my name is Ada").conversation_id
    stream = service.stream(ada, "tell me a long story about dragons")
    first = next(iter(stream))
    assert first
    stream.close()  # a reader gone after one delta: the request's stream is closed now, not at garbage collection
    assert list(stream) == []  # nothing more comes from a closed stream
    assert service.reply(ada, "what is my name?").text == "Your name is Ada."
