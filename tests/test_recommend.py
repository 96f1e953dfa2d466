"""`scaffolder recommend`: each rule question by question, contradictions explained, the ADR in the repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder.catalog import Runtime
from scaffolder.cli import app
from scaffolder.decision import NOT_ASKED, decision_data, recommend, validate_answers
from scaffolder.errors import SpecError
from scaffolder.generate import plan_files
from tests.helpers import make_spec


def test_nothing_answered_gives_the_simplest_managed_runtime() -> None:
    rec = recommend({})
    assert rec.runtime is Runtime.RESPONSES
    assert set(rec.answers.values()) == {NOT_ASKED}
    assert rec.reasons and not rec.conflicts


@pytest.mark.parametrize(
    ("answers", "runtime", "reason_part"),
    [
        ({"multi_agent": "yes"}, Runtime.AGENTS, "agents calling agents (the A2A tool)"),
        ({"connectors": "yes"}, Runtime.AGENTS, "SharePoint"),
        ({"models": "now"}, Runtime.INFERENCE, "OpenAI-family models only"),
        ({"models": "later"}, Runtime.INFERENCE, "switching provider is a setting"),
        ({"tools": "yes"}, Runtime.RESPONSES, "file search, code execution and MCP"),
        ({"state": "yes"}, Runtime.RESPONSES, "the service keeps the conversation"),
        ({"state": "no"}, Runtime.INFERENCE, "stateless calls"),
        ({"models": "no"}, Runtime.RESPONSES, "simplest runtime"),
        ({"connectors": "no", "multi_agent": "no"}, Runtime.RESPONSES, "simplest runtime"),
    ],
)
def test_each_question_alone(answers: dict[str, str], runtime: Runtime, reason_part: str) -> None:
    rec = recommend(answers)
    assert rec.runtime is runtime
    assert any(reason_part in r for r in rec.reasons), rec.reasons


def test_managed_state_plus_partner_models_explains_the_trade_off() -> None:
    rec = recommend({"state": "yes", "models": "now"})
    assert rec.runtime is Runtime.INFERENCE
    assert any("state=yes" in t and "your app stores, trims and threads history" in t for t in rec.trade_offs)
    assert any("generated state layer" in g for g in rec.gives_up)


def test_hard_needs_in_conflict_are_reported_not_crashed() -> None:
    rec = recommend({"connectors": "yes", "models": "now", "state": "yes"})
    assert rec.runtime is Runtime.AGENTS
    assert len(rec.conflicts) == 1
    assert "models=now needs Inference" in rec.conflicts[0]


def test_more_hard_needs_win() -> None:
    rec = recommend({"connectors": "yes", "multi_agent": "yes", "models": "now"})
    assert rec.runtime is Runtime.AGENTS
    assert rec.conflicts


def test_tools_and_provider_hedge_weigh_against_each_other() -> None:
    assert recommend({"tools": "yes", "models": "later"}).runtime is Runtime.RESPONSES
    assert recommend({"state": "no", "models": "later"}).runtime is Runtime.INFERENCE


def test_every_rule_refers_to_real_questions_and_choices() -> None:
    data = decision_data()
    questions = {q.key: q for q in data.questions}
    for rule in data.rules:
        for key, value in rule.when.items():
            assert value in questions[key].choices
    assert set(data.gives_up) == set(Runtime)


def test_answers_are_validated() -> None:
    assert validate_answers({"state": True, "tools": False}) == {"state": "yes", "tools": "no"}
    with pytest.raises(SpecError, match="unknown question 'colour'"):
        validate_answers({"colour": "blue"})
    with pytest.raises(SpecError, match="'maybe' is not one of now, later, no"):
        validate_answers({"models": "maybe"})


def test_adr_when_runtime_given_directly() -> None:
    text = plan_files(make_spec("agents")).text("docs/adr/0001-runtime-choice.md")
    assert "Foundry Agent Service" in text
    assert "questions were not asked" in text
    assert text.count("| not asked |") == 5
    assert "Date: " in text and "Status: accepted" in text


def test_adr_records_answers_reasons_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    spec = make_spec("responses", decision_answers={"models": "now", "state": "yes"})
    text = plan_files(spec).text("docs/adr/0001-runtime-choice.md")
    assert "Date: 2026-01-01" in text
    assert "| yes |" in text and "| now |" in text
    assert "suggested `inference` for these answers; the team\nchose `responses` instead" in text


def test_decision_answers_pick_the_runtime_when_none_given() -> None:
    spec = make_spec(None, decision_answers={"multi_agent": "yes"})
    assert spec.runtime is Runtime.AGENTS
    assert spec.decision.answers == {"multi_agent": "yes"}


runner = CliRunner()


def test_cli_flags_and_json() -> None:
    result = runner.invoke(app, ["recommend", "--partner-models", "now", "--state", "yes", "--json", "--name", "bot"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["runtime"] == "inference"
    assert doc["command"] == "scaffolder new bot --runtime inference"
    assert doc["answers"]["models"] == "now"


def test_cli_answers_file_round_trip_into_new(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("state: yes\nconnectors: yes\n")
    out = runner.invoke(app, ["recommend", "--answers", str(answers), "--json", "--no-input"])
    assert json.loads(out.stdout)["runtime"] == "agents"
    saved = tmp_path / "decision.json"
    saved.write_text(out.stdout)
    made = runner.invoke(app, ["new", "helper", "--decision", str(saved), "--no-input", "-o", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert "runtime: agents" in (tmp_path / "helper" / ".scaffolder.yml").read_text()
    adr = (tmp_path / "helper" / "docs" / "adr" / "0001-runtime-choice.md").read_text()
    assert "SharePoint" in adr


def test_cli_human_output_and_bad_answer(tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend", "--multi-agent", "yes", "--no-input"])
    assert result.exit_code == 0
    assert "Recommended runtime: agents" in result.stdout
    assert "scaffolder new NAME --runtime agents" in result.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text("models: maybe\n")
    result = runner.invoke(app, ["recommend", "--answers", str(bad), "--no-input"])
    assert result.exit_code == 2
    assert "'maybe' is not one of now, later, no" in result.stderr


def test_printed_commands_paste_into_a_shell_with_the_tool_values_intact() -> None:
    # review-15b MEDIUM-2: `allowed_tools=a;b` printed bare ended the pasted command at ';'.
    import shlex

    tool = "mcp,url=https://mcp.example.com/mcp?a=1&b=$x,label=docs,allowed_tools=a;b"
    result = CliRunner().invoke(app, ["recommend", "--no-input", "--tool", tool])
    assert result.exit_code == 0, result.output
    commands = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("scaffolder ")]
    assert len(commands) == 3, result.stdout
    for command in commands:
        words = shlex.split(command)
        assert words[words.index("--tool") + 1] == tool, command
