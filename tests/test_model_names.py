"""No retired model in what users read: README, CLI help, defaults, recommend output, generated repos' docs.

The catalog says which models are retired at the pinned date; every model name found in those texts must be
current then. When the platform retires a model the README or a default names, this fails, not the user.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder import catalog
from scaffolder.cli import app
from scaffolder.decision import decision_data, recommend
from scaffolder.generate import plan_files
from scaffolder.spec import DEFAULT_MODEL
from tests.helpers import make_spec

PINNED = dt.date(2026, 11, 29)
PINNED_EPOCH = "1795910400"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _pinned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", PINNED_EPOCH)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def retired_names(day: dt.date = PINNED) -> set[str]:
    """Catalog models whose every known version is retired on `day`."""
    return {m.name for m in catalog.models().values()
            if all(m.status(v, day).state == "retired" for v in m.versions)}


def named_retired(text: str, day: dt.date = PINNED) -> list[str]:
    """Retired model names that appear in text as whole names (gpt-4.1 does not match inside gpt-4.1-mini)."""
    return sorted(n for n in retired_names(day) if re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-]|\.\d)", text))


def test_the_scanner_can_fail() -> None:
    assert named_retired("scaffolder new x -m Mistral-Large-2411 -m gpt-5.4-mini") == ["Mistral-Large-2411"]
    assert named_retired("use gpt-4.1-mini.") == ["gpt-4.1-mini"]
    assert named_retired("gpt-5.4-mini and gpt-4.1-minimal") == []
    assert "jais-30b-chat" in retired_names() and "gpt-5.4-mini" not in retired_names()


def test_readme_names_no_retired_model() -> None:
    assert named_retired((ROOT / "README.md").read_text(encoding="utf-8")) == []


def test_cli_help_names_no_retired_model() -> None:
    runner = CliRunner()
    texts = [runner.invoke(app, ["--help"]).output]
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        texts.append(result.output)
    assert len(texts) > 5
    assert named_retired("\n".join(texts)) == []


def test_defaults_are_current() -> None:
    m = catalog.models()[DEFAULT_MODEL]
    assert m.status(m.default_version, PINNED).state == "current"
    for runtime in ("responses", "agents", "inference"):
        spec = make_spec(runtime)
        assert named_retired(" ".join(d.model for d in spec.models)) == [], runtime


def test_every_replacement_offered_is_current() -> None:
    for m in catalog.models().values():
        for version in m.versions:
            status = m.status(version, PINNED)
            if status.replacement is not None:
                r = catalog.models()[status.replacement]
                assert r.status(r.default_version, PINNED).state == "current", (m.name, status.replacement)


def test_recommend_output_names_no_retired_model() -> None:
    questions = decision_data().questions
    texts = []
    for combo in itertools.product(*[q.choices for q in questions]):
        rec = recommend(dict(zip([q.key for q in questions], combo, strict=True)))
        texts.append(json.dumps(rec.as_dict()))
    result = CliRunner().invoke(app, ["recommend", "--partner-models", "now", "--state", "yes", "--tools", "no",
                                      "--connectors", "no", "--multi-agent", "no"])
    assert result.exit_code == 0, result.output
    texts.append(result.output)
    assert "Mistral-small-2503" in "\n".join(texts), "the catalog's partner models are named"
    assert named_retired("\n".join(texts)) == []


@pytest.mark.parametrize("runtime,models", [
    ("responses", []),
    ("agents", []),
    ("inference", []),
    ("inference", ["Mistral-small-2503", "gpt-5.4-mini"]),  # the README's example
])
def test_generated_docs_name_no_retired_model(runtime: str, models: list[str]) -> None:
    spec = make_spec(runtime, models=models) if models else make_spec(runtime)
    plan = plan_files(spec)
    docs = [f for f in plan.files if str(f.path).endswith(".md") or str(f.path) in (".env.example", ".scaffolder.yml")]
    assert any(str(f.path) == "README.md" for f in docs)
    for f in docs:
        assert named_retired(f.content.decode("utf-8")) == [], f.path
