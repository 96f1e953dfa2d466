"""Interactive prompts on a real terminal: one question at a time, each answer validated as typed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from scaffolder.prompts import Question, interactive_allowed, resolve

SCAFFOLDER = [sys.executable, "-m", "scaffolder"]


def _tty_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("AZURE_")}
    env.update({"TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200"})
    return env


def test_prompts_ask_validate_and_reask(tmp_path: Path) -> None:
    child = pexpect.spawn(SCAFFOLDER[0], [*SCAFFOLDER[1:], "new", "-o", str(tmp_path)], env=_tty_env(),
                          encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect("Project name")
    child.sendline("Bad_Name")
    child.expect("must be lowercase")
    child.expect("Project name")
    child.sendline("helper")
    child.expect("help me choose")
    child.sendline("1")
    child.expect("Foundry Agent Service")
    child.expect("Runtime")
    child.sendline("2")
    child.expect(r"Azure region.*eastus2")
    child.sendline("westeurope")
    child.expect("not offered in westeurope")
    child.expect("Azure region")
    child.sendline("")
    child.expect(r"Model\(s\)")
    child.sendline("Mistral-Large-2411")
    child.expect("not served by the Foundry Agent Service")
    child.expect(r"Model\(s\)")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    answers = (tmp_path / "helper" / ".scaffolder.yml").read_text()
    assert "runtime: agents" in answers and "location: eastus2" in answers and "model: gpt-5.4-mini" in answers


def test_ci_never_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert interactive_allowed(no_input=False) is False
    assert interactive_allowed(no_input=True) is False


class Scripted:
    """A prompter answering from a list (the protocol, not a stand-in for any SDK client)."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.asked: list[str] = []

    def ask(self, question: Question, default: str | None, answers: dict[str, object]) -> str:
        self.asked.append(question.key)
        return self.replies.pop(0)


def test_resolve_reasks_until_valid_and_uses_defaults() -> None:
    def positive(value: str, answers: dict[str, object]) -> int:
        if not value.isdigit():
            raise ValueError("a whole number please")
        return int(value)

    questions = [
        Question("n", "--n", "N", validate=positive),
        Question("colour", "--colour", "Colour", default=lambda a: "blue"),
    ]
    prompter = Scripted(["x", "7", ""])
    assert resolve(questions, {}, prompter) == {"n": 7, "colour": "blue"}
    assert prompter.asked == ["n", "n", "colour"]


def test_given_values_are_not_asked() -> None:
    prompter = Scripted([])
    questions = [Question("n", "--n", "N")]
    assert resolve(questions, {"n": "5"}, prompter) == {"n": "5"}
    assert prompter.asked == []


def test_new_without_runtime_offers_the_recommend_flow(tmp_path: Path) -> None:
    child = pexpect.spawn(SCAFFOLDER[0], [*SCAFFOLDER[1:], "new", "bot", "-o", str(tmp_path)], env=_tty_env(),
                          encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect("help me choose")
    child.sendline("2")
    for question, answer in [("state across turns", "yes"), ("built-in tools", "no"),
                             ("outside the OpenAI family", "now"), ("enterprise connectors", ""),
                             ("several agents", "no")]:
        child.expect(question)
        child.sendline(answer)
    child.expect("recommended: inference")
    child.expect(r"Runtime.*\(inference\)")
    child.sendline("")
    child.expect("Azure region")
    child.sendline("")
    child.expect(r"Model\(s\)")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    answers = (tmp_path / "bot" / ".scaffolder.yml").read_text()
    assert "runtime: inference" in answers
    assert "models: now" in answers and "connectors" not in answers
