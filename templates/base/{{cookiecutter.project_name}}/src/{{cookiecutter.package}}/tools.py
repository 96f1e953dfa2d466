"""Example function tools the model may call: the current time and a small, safe calculator.

Add your own: write a function returning a string, describe its parameters as JSON schema, and register it in
TOOLS. The schemas are strict (every property required, no extra ones), which the Responses API and chat
completions both accept.
"""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Tool:
    """A local function the model can call, with its JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., str]


def get_current_time(timezone: str) -> str:
    """ISO 8601 time now in an IANA time zone."""
    if timezone.upper() in ("UTC", "Z", "GMT", ""):
        zone: Any = UTC
    else:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}; use an IANA name such as Europe/Paris") from None
    return datetime.now(zone).isoformat(timespec="seconds")


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_MAX_EXPONENT = 1000
_MAX_BITS = 10_000
_MAX_LENGTH = 200


def _evaluate(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError(f"exponent larger than {_MAX_EXPONENT}")
        # Nested powers ((9**999)**999) keep each exponent small but explode the result: bound the size.
        if isinstance(node.op, ast.Pow) and abs(left) > 1 and abs(right) * math.log2(abs(left)) > _MAX_BITS:
            raise ValueError("result too large")
        result = _OPERATORS[type(node.op)](left, right)
        if isinstance(result, int) and result.bit_length() > _MAX_BITS:
            raise ValueError("result too large")
        return result  # type: ignore[no-any-return]
    raise ValueError("only numbers, + - * / // % ** and parentheses are allowed")


def calculate(expression: str) -> str:
    """Evaluate arithmetic without eval(): the expression is parsed and only number operators are applied."""
    if len(expression) > _MAX_LENGTH:
        raise ValueError(f"expression longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
        value = _evaluate(tree)
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from None
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except OverflowError:
        raise ValueError("result too large") from None
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    return str(value)


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "get_current_time",
            "Current date and time in a time zone.",
            {
                "type": "object",
                "properties": {"timezone": {"type": "string", "description": "IANA name, e.g. Europe/Paris, or UTC"}},
                "required": ["timezone"],
                "additionalProperties": False,
            },
            get_current_time,
        ),
        Tool(
            "calculate",
            "Evaluate an arithmetic expression exactly (numbers, + - * / // % ** and parentheses).",
            {
                "type": "object",
                "properties": {"expression": {"type": "string", "description": "for example (2 + 3) * 4"}},
                "required": ["expression"],
                "additionalProperties": False,
            },
            calculate,
        ),
    )
}


def responses_tools() -> list[dict[str, Any]]:
    """Tool definitions in the Responses API shape (also used by Foundry agents)."""
    return [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters, "strict": True}
        for t in TOOLS.values()
    ]


def chat_completions_tools() -> list[dict[str, Any]]:
    """Tool definitions in the chat completions shape."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters, "strict": True},
        }
        for t in TOOLS.values()
    ]


def call_tool(name: str, arguments_json: str) -> str:
    """Run a tool for the model. Never raises: a failure becomes a JSON error the model can read and recover from."""
    tool = TOOLS.get(name)
    if tool is None:
        return json.dumps({"error": f"unknown tool {name!r}"})
    try:
        arguments = json.loads(arguments_json or "{}")
        if not isinstance(arguments, dict):
            raise ValueError("arguments must be a JSON object")
        return tool.run(**arguments)
    except (ValueError, TypeError) as exc:
        return json.dumps({"error": str(exc)})
    except Exception as exc:  # the model chose the arguments: any failure is an answer, not a crash
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
