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


def test_strict_fails_differences_from_the_generator_only_so_new_and_check_agree(tmp_path: Path) -> None:
    # The same standards for both commands: a model retiring soon is a warning `new` accepts; check, strict from the
    # standards, must not fail it (no --accept could ever clear it). Strict makes drift fail, nothing else.
    team = tmp_path / "strict.yml"
    team.write_text("name: team\ncheck:\n  strict: true\n")
    target = tmp_path / "ret"
    made = runner.invoke(app, ["new", str(target), "-r", "responses", "-m", "gpt-5-mini", "--standards", str(team),
                               "--no-input", "--no-git"])
    assert made.exit_code == 0, made.output
    assert "retir" in made.stderr
    checked = runner.invoke(app, ["check", str(target), "--offline", "--standards", str(team)])
    assert checked.exit_code == 0, checked.output
    assert "warning [lifecycle/retiring]" in checked.stdout
    assert "information" in checked.stdout and "errors" not in checked.stdout
    # ...while a difference from the generator still fails under the same standards.
    _edit(target / "azure.yaml", "name: ", "name: ours-")
    drifted = runner.invoke(app, ["check", str(target), "--offline", "--standards", str(team)])
    assert drifted.exit_code == 1 and "[drift/changed]" in drifted.stdout
    result = check(target, offline_only=True, strict=True)
    assert [f.rule for f in result.errors] == ["drift/changed"]
    assert any(f.rule == "lifecycle/retiring" for f in result.information)


def test_a_declaration_the_generator_added_since_points_to_update(repo: Path) -> None:
    from tests.test_check_accept import _rewrite_pristine

    # An older generator wrote no SERVICE_API_URI output (pristine and repo agree): the generator added it since.
    main = repo / "infra" / "main.bicep"
    removed = next(line for line in main.read_text().splitlines() if line.startswith("output SERVICE_API_URI "))
    _rewrite_pristine(repo, "infra/main.bicep", removed + "\n", "")
    _edit(main, removed + "\n", "")
    (finding,) = check(repo, offline_only=True, strict=True).errors
    assert finding.rule == "drift/removed"
    assert finding.fix == f"scaffolder update {repo}"
    assert runner.invoke(app, finding.fix.split()[1:]).exit_code == 0
    assert removed in main.read_text()
    assert check(repo, offline_only=True, strict=True).ok


@pytest.mark.parametrize(("edits", "expected", "found"), [
    # A reworded description (not compared) and a changed value: the value is what is shown.
    ([("@description('Log Analytics retention in days.')", "@description('Retention (ours).')"),
      ("param logRetentionInDays int = 30", "param logRetentionInDays int = 60")],
     "'param logRetentionInDays int = 30'", "'param logRetentionInDays int = 60'"),
    # A comment added inside a module (not compared) and a changed property: the property is what is shown.
    ([("module appRoles ", "// ours: a note\nmodule appRoles "),
      ("principalType: 'ServicePrincipal'", "principalType: 'User'")],
     "\"principalType: 'ServicePrincipal'\"", "\"principalType: 'User'\""),
])
def test_expected_and_found_show_the_line_that_really_changed(
        repo: Path, edits: list[tuple[str, str]], expected: str, found: str) -> None:
    main = repo / "infra" / "main.bicep"
    for old, new_text in edits:
        _edit(main, old, new_text)
    (finding,) = check(repo, offline_only=True).information
    assert (finding.rule, finding.expected, finding.found) == ("drift/changed", expected, found)
    changed = found[1:-1]
    assert main.read_text().splitlines()[finding.line - 1].strip() == changed


def test_the_fix_printed_under_strict_clears_it_on_a_repo_from_another_version(repo: Path) -> None:
    import re

    answers = repo / ".scaffolder.yml"
    answers.write_text(re.sub(r"(?m)^version: .*$", "version: 0.1.0", answers.read_text(), count=1))
    _edit(repo / "infra" / "main.bicep", "param logRetentionInDays int = 30", "param logRetentionInDays int = 60")
    failed = runner.invoke(app, ["check", str(repo), "--offline", "--strict"])
    assert failed.exit_code == 1, failed.output
    # (faking the version also changes azure.yaml's template stamp: that one's fix is `update`)
    fix = re.search(r"to reconcile: (.+ --accept.*)", failed.stdout)
    assert fix is not None
    done = runner.invoke(app, fix.group(1).split()[1:])
    assert done.exit_code == 0, done.output
    assert "2 difference(s) from the generator accepted" in done.stderr
    after = check(repo, offline_only=True, strict=True)
    assert after.ok and len(after.accepted) == 2, [str(f) for f in after.findings]


@pytest.mark.parametrize("link", ["file", "directory"])
def test_accept_refuses_a_link_leaving_the_repo_as_bad_input(repo: Path, tmp_path: Path, link: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "accepted.yml"
    victim.write_text("mine\n")
    if link == "file":
        (repo / ACCEPTED_FILE).symlink_to(victim)
    else:
        shutil.rmtree(repo / ".scaffolder") if (repo / ".scaffolder").is_dir() else None
        (repo / ".scaffolder").symlink_to(outside, target_is_directory=True)
    _edit(repo / "azure.yaml", "name: ", "name: ours-")
    done = runner.invoke(app, ["check", str(repo), "--offline", "--accept"])
    assert done.exit_code == 2, done.output  # bad input (README), not 9 "a validation tool is missing"
    assert f"error: {ACCEPTED_FILE} leaves the repo (a link); not written" in done.stderr
    assert victim.read_text() == "mine\n" and sorted(p.name for p in outside.iterdir()) == ["accepted.yml"]


def test_accept_with_nothing_to_accept_writes_nothing(repo: Path) -> None:
    done = runner.invoke(app, ["check", str(repo), "--offline", "--accept"])
    assert done.exit_code == 0, done.output
    assert not (repo / ACCEPTED_FILE).exists()
    assert "note: nothing to accept: no difference from the generator" in done.stderr
    assert "0 difference(s)" not in done.stderr


def test_a_layout_change_is_not_drift(repo: Path) -> None:
    main = repo / "infra" / "main.bicep"
    text = main.read_text()
    import re

    block = re.search(r"@allowed\(\[\n(?:\s+'[^']+'\n)+\]\)\nparam networkPosture", text)
    assert block is not None, "the generated networkPosture is a multi-line @allowed list"
    items = re.findall(r"'[^']+'", block.group(0).split("param")[0])
    main.write_text(text.replace(block.group(0), f"@allowed([{', '.join(items)}])\nparam networkPosture"))
    assert check(repo, offline_only=True, strict=True).ok
    # ...but a changed value inside still is.
    _edit(main, f"@allowed([{', '.join(items)}])", f"@allowed([{', '.join(items[:1])}])")
    assert [f.rule for f in check(repo, offline_only=True, strict=True).errors] == ["drift/changed"]


def test_a_file_that_does_not_parse_gets_no_accept_advice(repo: Path) -> None:
    main = repo / "infra" / "main.bicep"
    _edit(main, "param logRetentionInDays int = 30", "param logRetentionInDays int = 30\nresource broken 'x@1' = {")
    result = check(repo, offline_only=True)
    assert any(f.file == "infra/main.bicep" and f.severity == "error" for f in result.findings)
    assert not [f for f in result.findings if f.rule.startswith("drift/")], [str(f) for f in result.findings]
    main.write_text(main.read_text().replace("\nresource broken 'x@1' = {", ""))
    params = repo / "infra" / "main.parameters.json"
    lines = params.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.rstrip().endswith(","))
    lines[at] += ","
    params.write_text("\n".join(lines) + "\n")
    result = check(repo, offline_only=True)
    assert not [f for f in result.findings if f.rule.startswith("drift/")], [str(f) for f in result.findings]
    # One error for one fault, at the line the JSON parser names.
    (bad,) = [f for f in result.findings if f.file == "infra/main.parameters.json"]
    assert (bad.rule, bad.line) == ("params-file/invalid", at + 1), str(bad)


def test_accept_does_not_follow_a_link_planted_at_its_temporary_file(repo: Path, tmp_path: Path) -> None:
    import os

    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    (repo / ".scaffolder").mkdir(exist_ok=True)
    (repo / ".scaffolder" / f".accepted.yml.{os.getpid()}.tmp").symlink_to(victim)
    _edit(repo / "azure.yaml", "name: ", "name: ours-")
    done = runner.invoke(app, ["check", str(repo), "--offline", "--accept"])
    assert done.exit_code == 0, done.output
    assert victim.read_text() == "mine\n"
    assert "azure.yaml" in (repo / ACCEPTED_FILE).read_text() and not (repo / ACCEPTED_FILE).is_symlink()
