"""check after review 9b: a damaged accepted.yml is one line, strict covers drift only, fixes that really clear."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder._new import new
from scaffolder.checks import ACCEPTED_FILE, check
from scaffolder.cli import app
from tests.helpers import make_spec

runner = CliRunner()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("gen") / "demo"
    new(make_spec("responses"), target)
    return target


@pytest.fixture
def repo(generated: Path, tmp_path: Path) -> Path:
    shutil.copytree(generated, tmp_path / "demo", symlinks=True)
    return tmp_path / "demo"


def _edit(path: Path, old: str, new_text: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new_text, 1))


@pytest.mark.parametrize(("content", "said"), [
    ("accepted:\n<<<<<<< HEAD\n  - digest: aa\n=======\n  - digest: bb\n>>>>>>> other\n",
     f"{ACCEPTED_FILE} line 2: an unresolved merge conflict"),
    ("accepted: [\n", f"{ACCEPTED_FILE} line 2, column 1: the file ends where a value is expected"),
    ("accepted: 5\n", f"{ACCEPTED_FILE} is not a list of accepted differences"),
])
def test_a_damaged_accepted_file_is_one_line_with_its_fix(repo: Path, content: str, said: str) -> None:
    (repo / ACCEPTED_FILE).write_text(content)
    done = runner.invoke(app, ["check", str(repo), "--offline"])
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {said}"), done.stderr
    assert "Traceback" not in done.output and "unexpected" not in done.stderr
    assert lines[1].startswith("hint: ") and f"scaffolder check {repo} --accept" in lines[1]
    # The printed fix works: delete the file and accept again.
    (repo / ACCEPTED_FILE).unlink()
    assert runner.invoke(app, ["check", str(repo), "--offline", "--accept"]).exit_code == 0
    assert check(repo, offline_only=True).ok
