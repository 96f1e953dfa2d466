"""The service's failure modes, the same for every runtime: each is one clear error (never a traceback), the
conversation stays where it was, and the next turn works. The fake (tests/fake_foundry.py) breaks the wire the way
the service and the network do: streams cut or dropped part-way, stalls past the timeout, connections closed
without an answer, throttling past the retries, and a content filter on prompts and replies.
"""

from __future__ import annotations

import pytest
from fake_foundry import CUT_TOOL_CALL, FILTERED_PROMPT, FILTERED_REPLY, LONG_REPLY, PREAMBLE, SHOW_WORK, FakeFoundry

from {{ cookiecutter.package }}.chat import make_service
from {{ cookiecutter.package }}.errors import (
    MAX_RETRY_AFTER,
    ContentFilterError,
    ServiceError,
    retry_after_seconds,
)
from {{ cookiecutter.package }}.service import ROUND_SEPARATOR, TRUNCATED_NOTE, ChatService
from {{ cookiecutter.package }}.settings import load_settings

STREAMING = pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
# Events of a streamed reply sent before a fault part-way through: some of the reply's text has been shown.
PART_WAY = 3


def say(service: ChatService, conversation_id: str | None, message: str, streaming: bool) -> str:
    if streaming:
        return "".join(service.stream(conversation_id, message))
    return service.reply(conversation_id, message).text


@pytest.fixture
def ada(service: ChatService) -> str:
    """A conversation that knows the user's name, so a later turn shows whether its history survived."""
    return service.reply(None, "my name is Ada").conversation_id


def still_knows_ada(service: ChatService, conversation_id: str) -> bool:
    return service.reply(conversation_id, "what is my name?").text == "Your name is Ada."


def one_line(error: pytest.ExceptionInfo[ServiceError]) -> str:
    message = str(error.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("after", [None, PART_WAY], ids=["before-the-final-event", "part-way"])
def test_a_stream_that_ends_early_is_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str, after: int | None
) -> None:
    app_env.cut_next_stream(after)
    with pytest.raises(ServiceError) as err:
        say(service, ada, "tell me a story", streaming=True)
    assert "stream ended before" in one_line(err)
    assert still_knows_ada(service, ada)


def test_a_connection_dropped_mid_stream_is_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str
) -> None:
    app_env.drop_next_stream(PART_WAY)
    with pytest.raises(ServiceError) as err:
        say(service, ada, "tell me a story", streaming=True)
    assert "dropped" in one_line(err)
    assert still_knows_ada(service, ada)


@STREAMING
def test_a_connection_dropped_before_the_answer_is_retried_then_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str, streaming: bool
) -> None:
    app_env.drop_next(times=1)
    assert say(service, ada, "my name is Ada", streaming) == "Nice to meet you, Ada."  # retried
    app_env.drop_next(times=3)  # the first try and both retries (APP_MAX_RETRIES=2)
    with pytest.raises(ServiceError) as err:
        say(service, ada, "my name is Bob", streaming)
    assert "dropped" in one_line(err)
    assert still_knows_ada(service, ada)


@STREAMING
def test_a_timeout_is_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str, monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    monkeypatch.setenv("APP_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("APP_MAX_RETRIES", "0")
    impatient = make_service(load_settings())
    if streaming:
        app_env.stall_next_stream(4, after=PART_WAY)  # the reply starts, then stops arriving
    else:
        app_env.stall_next(4)
    with pytest.raises(ServiceError) as err:
        # Not "my name is Bob": the service may have run the turn before the answer stalled (the agent service
        # then keeps it in its conversation); the app's own state is what must not change.
        say(impatient, ada, "tell me a story", streaming)
    assert "within 1s" in one_line(err) and "APP_TIMEOUT_SECONDS" in str(err.value)
    assert still_knows_ada(service, ada)  # the usual timeout: the check itself must not race a busy machine


@STREAMING
def test_throttling_past_the_retries_is_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str, streaming: bool
) -> None:
    app_env.fail_next(times=3)
    with pytest.raises(ServiceError) as err:
        say(service, ada, "my name is Bob", streaming)
    assert err.value.status == 429 and "429" in one_line(err)
    assert still_knows_ada(service, ada)


@STREAMING
def test_a_filtered_prompt_is_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str, streaming: bool
) -> None:
    with pytest.raises(ContentFilterError) as err:
        say(service, ada, FILTERED_PROMPT, streaming)
    assert err.value.status == 400 and "content filter blocked this message" in one_line(err)
    assert app_env.requests[-1].status == 400  # refused once: a filtered prompt is not retried
    assert still_knows_ada(service, ada)


@STREAMING
def test_a_filtered_reply_is_one_clear_error(
    app_env: FakeFoundry, service: ChatService, ada: str, streaming: bool
) -> None:
    with pytest.raises(ContentFilterError) as err:
        say(service, ada, FILTERED_REPLY, streaming)
    assert err.value.status == 400 and "content filter stopped the reply" in one_line(err)
    assert still_knows_ada(service, ada)


@STREAMING
def test_a_reply_cut_at_the_token_limit_is_kept_and_marked(
    service: ChatService, ada: str, streaming: bool
) -> None:
    text = say(service, ada, LONG_REPLY, streaming)
    assert text == "Essays have a long history. The first" + TRUNCATED_NOTE
    assert still_knows_ada(service, ada)


@STREAMING
def test_a_tool_rounds_preamble_is_set_apart_from_the_answer(service: ChatService, streaming: bool) -> None:
    text = say(service, None, f"{SHOW_WORK}: calculate 2+2", streaming)
    assert text == PREAMBLE + ROUND_SEPARATOR + "The calculate tool says: 4"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("0", 0), ("7", 7), ("2.5", 3), ("86400", MAX_RETRY_AFTER), ("9" * 400, MAX_RETRY_AFTER), ("soon", None)],
)
def test_a_throttled_turns_retry_after_is_finite_and_capped(
    app_env: FakeFoundry, service: ChatService, header: str, expected: int | None
) -> None:
    app_env.fail_next(times=3, retry_after=header)  # the SDK waits retry-after-ms; the app reports Retry-After
    with pytest.raises(ServiceError) as err:
        service.reply(None, "hello")
    assert err.value.status == 429 and err.value.retry_after == expected
    assert "429" in one_line(err)


def test_retry_after_as_an_http_date() -> None:
    now = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT
    assert retry_after_seconds("Sun, 06 Nov 1994 08:50:37 GMT", now=now) == 60
    assert retry_after_seconds("Sun, 06 Nov 1994 08:40:37 GMT", now=now) == 0  # already past
    assert retry_after_seconds("Mon, 07 Nov 1994 08:49:37 GMT", now=now) == MAX_RETRY_AFTER
    assert retry_after_seconds("Sun, 99 Nov 1994 25:61:61 GMT", now=now) is None


@STREAMING
def test_a_reply_cut_mid_tool_call_runs_no_tool_and_keeps_nothing(
    app_env: FakeFoundry, service: ChatService, ada: str, streaming: bool
) -> None:
    before = len(app_env.requests)
    with pytest.raises(ServiceError) as err:
        say(service, ada, CUT_TOOL_CALL, streaming)
    assert err.value.status == 502 and "token limit in the middle of a tool call" in one_line(err)
    sent = [r.body for r in app_env.requests[before:] if r.method == "POST" and r.body]
    # The call's arguments ("1+") were cut: no tool output ever went back to the model.
    assert not any("function_call_output" in str(body) or "'role': 'tool'" in str(body) for body in sent)
    assert still_knows_ada(service, ada)
