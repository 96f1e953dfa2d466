"""The example tools: exact arithmetic without eval, the clock, and errors the model can read."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from snap_inference.tools import (
    TOOLS,
    calculate,
    call_tool,
    chat_completions_tools,
    responses_tools,
)


@pytest.mark.parametrize(
    ("expression", "result"),
    [("1 + 2 * 3", "7"), ("(1 + 2) * 3", "9"), ("7 / 2", "3.5"), ("7 // 2", "3"), ("-2 ** 2", "-4"), ("2^8", "256"),
     ("10 % 4", "2"), ("0.1 + 0.2", "0.30000000000000004"), ("6 / 3", "2")],
)
def test_calculate(expression: str, result: str) -> None:
    assert calculate(expression) == result


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('echo hi')", "x + 1", "2 ** 100000", "1 / 0", "'a' * 3", "[1, 2]", "1 +", "True + 1",
     "9" * 300, "((9**999)**999)**99", "(2**999)*(2**999)*(2**999)**999"],
)
def test_calculate_refuses_anything_else(expression: str) -> None:
    with pytest.raises(ValueError):
        calculate(expression)


def test_call_tool_never_raises_on_odd_arguments() -> None:
    assert "error" in json.loads(call_tool("get_current_time", '{"timezone": 5}'))


def test_call_tool_runs_a_tool() -> None:
    assert call_tool("calculate", json.dumps({"expression": "6*7"})) == "42"
    assert datetime.fromisoformat(call_tool("get_current_time", '{"timezone": "UTC"}')).tzinfo is not None


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [("nope", "{}", "unknown tool"), ("calculate", "{not json", "Expecting"), ("calculate", "[1]", "JSON object"),
     ("calculate", '{"expr": "1"}', "unexpected keyword"), ("calculate", '{"expression": "1/0"}', "division by zero"),
     ("get_current_time", '{"timezone": "Mars/Olympus"}', "unknown time zone")],
)
def test_call_tool_turns_failures_into_json_errors(name: str, arguments: str, error: str) -> None:
    result = json.loads(call_tool(name, arguments))
    assert error in result["error"]


def test_schemas_are_strict_in_both_shapes() -> None:
    responses = {t["name"]: t for t in responses_tools()}
    chat = {t["function"]["name"]: t["function"] for t in chat_completions_tools()}
    assert set(responses) == set(chat) == set(TOOLS)
    for name, tool in responses.items():
        assert tool["type"] == "function" and tool["strict"] is True
        params = tool["parameters"]
        assert params["additionalProperties"] is False
        assert sorted(params["required"]) == sorted(params["properties"])
        assert chat[name]["parameters"] == params
