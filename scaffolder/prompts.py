"""Questions as data, asked one at a time on a TTY or refused all at once with --no-input."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from scaffolder.errors import MissingValuesError, ScaffolderError


@dataclass(frozen=True)
class Question:
    """One value the spec needs: how to ask for it, its default and its validator."""

    key: str
    flag: str
    text: str
    default: Callable[[dict[str, Any]], str | None] = lambda answers: None
    choices: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    validate: Callable[[Any, dict[str, Any]], Any] = lambda value, answers: value
    help: str = ""


class Prompter(Protocol):
    """Asks one question and returns the raw answer text."""

    def ask(self, question: Question, default: str | None, answers: dict[str, Any]) -> str:
        """Return the user's answer (the default when they just press Enter)."""


def interactive_allowed(no_input: bool) -> bool:
    """Prompt only on a real terminal, never with --no-input or in CI (CI=true)."""
    if no_input or os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        return False
    return sys.stdin.isatty() and sys.stderr.isatty()


def resolve(
    questions: list[Question], given: dict[str, Any], prompter: Prompter | None
) -> dict[str, Any]:
    """Fill every question: given values first, then prompts (if a prompter), then defaults.

    Given values are validated in question order (the first bad one raises, naming its flag);
    prompted answers are validated as typed and asked again on error. Without a prompter, every
    value lacking a default is reported at once.
    """
    answers = dict(given)
    if prompter is None:
        missing = [(q.key, q.flag) for q in questions if _empty(answers.get(q.key)) and q.default(answers) is None]
        if missing:
            raise MissingValuesError(missing)
    for q in questions:
        if not _empty(answers.get(q.key)):
            answers[q.key] = q.validate(answers[q.key], answers)
            continue
        default = q.default(answers)
        if prompter is None:
            answers[q.key] = q.validate(default, answers)
            continue
        while True:
            raw = prompter.ask(q, default, answers).strip() or (default or "")
            try:
                answers[q.key] = q.validate(raw, answers)
                break
            except (ScaffolderError, ValueError) as exc:
                _warn(f"  {exc}")
    return answers


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == []


def _warn(text: str) -> None:
    print(text, file=sys.stderr)


class ConsolePrompter:
    """Rich prompts on stderr, one question at a time, choices numbered."""

    def ask(self, question: Question, default: str | None, answers: dict[str, Any]) -> str:
        """Ask on the terminal; choices may be answered by number or by value."""
        from rich.console import Console
        from rich.prompt import Prompt

        console = Console(stderr=True)
        if question.help:
            console.print(f"[dim]{question.help}[/dim]")
        choices = question.choices(answers) if question.choices else None
        if choices:
            for i, (value, label) in enumerate(choices, 1):
                console.print(f"  [bold]{i}[/bold]. {value:<12} {label}")
        raw = Prompt.ask(question.text, default=default or None, console=console) or ""
        if choices and raw.isdigit() and 1 <= int(raw) <= len(choices):
            return choices[int(raw) - 1][0]
        return raw
