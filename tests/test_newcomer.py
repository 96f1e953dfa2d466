"""A newcomer's first hour (issue 9, points 4-6): answers carried through, arguments as typed, truthful help/errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffolder import catalog
from scaffolder._new import new
from scaffolder.catalog import Runtime
from scaffolder.cli import app
from scaffolder.decision import load_answers_file
from tests.conftest import examples
from tests.helpers import make_spec

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SCAFFOLDER = [sys.executable, "-m", "scaffolder"]


def _tty_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("AZURE_")}
    env.update({"TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200"})
    return env


# -- 4. choosing a runtime carries through ------------------------------------------------------------------------

def test_recommend_save_then_new_decision(tmp_path: Path) -> None:
    saved = tmp_path / "decision.json"
    done = runner.invoke(app, ["recommend", "--state", "yes", "--partner-models", "later", "--no-input",
                               "--save", str(saved)])
    assert done.exit_code == 0, done.output
    assert f"scaffolder new NAME --decision {saved}" in done.stdout
    assert load_answers_file(saved) == {"state": "yes", "models": "later"}
    made = runner.invoke(app, ["new", "bot", "-o", str(tmp_path), "--decision", str(saved), "--no-input"])
    assert made.exit_code == 0, made.output
    assert "runtime: responses" in (tmp_path / "bot" / ".scaffolder.yml").read_text()


def test_recommend_without_answers_or_terminal_is_bad_input(tmp_path: Path) -> None:
    saved = tmp_path / "decision.json"
    done = runner.invoke(app, ["recommend", "--json", "--save", str(saved)])
    assert done.exit_code == 2, done.output
    assert done.stderr.splitlines() == [
        "error: no answers given and no terminal to ask on",
        "hint: pass --state/--tools/--partner-models/--connectors/--multi-agent, --tool or --answers FILE (add "
        "--no-input "
        "to recommend with every question 'not asked')"]
    assert not saved.exists() and done.stdout == ""
    # The same from a real process with stdin not a terminal (a CI step), and with CI=true on a terminal.
    proc = subprocess.run([*SCAFFOLDER, "recommend"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: no answers given"), proc.stderr
    # Asked for explicitly: every question 'not asked', said once.
    chosen = runner.invoke(app, ["recommend", "--no-input", "--json"])
    assert chosen.exit_code == 0 and "every question is 'not asked'" in chosen.stderr
    assert json.loads(chosen.stdout)["answers"]["state"] == "not asked"
    answered = runner.invoke(app, ["recommend", "--state", "yes", "--json"])
    assert answered.exit_code == 0 and "not asked'" not in answered.stderr


def test_recommend_asks_on_the_terminal_when_stdout_is_redirected(tmp_path: Path) -> None:
    out = tmp_path / "decision.json"
    command = " ".join([*SCAFFOLDER, "recommend", "--json"]) + f" > {out}"
    child = pexpect.spawn("/bin/sh", ["-c", command], env=_tty_env(), encoding="utf-8", timeout=30,
                          dimensions=(40, 200))
    for answer in ("y", "n", "now", "n", "n"):
        child.expect(r"\[Enter: skip\]")
        child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    doc = json.loads(out.read_text())
    assert doc["answers"] == {"state": "yes", "tools": "no", "models": "now", "connectors": "no",
                              "multi_agent": "no"}
    assert "not asked" not in out.read_text()


def test_partner_models_now_makes_the_app_call_the_partner_model(tmp_path: Path) -> None:
    decision = tmp_path / "d.yml"
    decision.write_text("models: now\n")
    made = runner.invoke(app, ["new", "bot", "-o", str(tmp_path), "--decision", str(decision), "--no-input",
                               "--no-git"])
    assert made.exit_code == 0, made.output
    from scaffolder._new import partner_model

    partner = partner_model(Runtime("inference"))
    assert partner is not None
    known = catalog.models()[partner]
    assert known.format != "OpenAI" and known.tool_calling  # the app sends its TOOLS to it
    repo = tmp_path / "bot"
    params = json.loads((repo / "infra" / "main.parameters.json").read_text())["parameters"]
    deployed = [d["model"] for d in params["modelDeployments"]["value"]]
    # The app calls the partner model; the OpenAI default stays deployed as the hedge (partner deployments come
    # last in the array: Marketplace terms can fail them without stopping the rest).
    assert params["primaryModelDeployment"]["value"] == partner and partner in deployed
    assert any(catalog.models()[m].format == "OpenAI" for m in deployed), deployed
    assert f"note: the app calls {partner} first (`recommend --partner-models now`)" in made.stderr
    assert "set primaryModelDeployment in infra/main.parameters.json" in made.stderr
    checked = runner.invoke(app, ["check", str(repo), "--offline"])
    assert checked.exit_code == 0, checked.output
    # Without the decision nothing changes: the OpenAI default is the one the app calls.
    plain = runner.invoke(app, ["new", "plain", "-r", "inference", "-o", str(tmp_path), "--no-input", "--no-git",
                                "--json", "--dry-run"])
    models = json.loads(plain.stdout)["spec"]["models"]
    assert [m["format"] for m in models] == ["OpenAI"]


# -- 5. arguments as people type them ---------------------------------------------------------------------------

def test_new_takes_a_path(tmp_path: Path) -> None:
    done = runner.invoke(app, ["new", str(tmp_path / "apps" / "my-app"), "-r", "responses", "--no-input", "--no-git"])
    assert done.exit_code == 0, done.output
    assert "name: my-app" in (tmp_path / "apps" / "my-app" / ".scaffolder.yml").read_text()
    named = runner.invoke(app, ["new", str(tmp_path / "svc" / "x"), "--name", "billing", "-r", "responses",
                                "--no-input", "--no-git"])
    assert named.exit_code == 0, named.output
    assert "name: billing" in (tmp_path / "svc" / "x" / ".scaffolder.yml").read_text()


def test_new_relative_path_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["new", "./apps/my-app", "-r", "agents", "--no-input", "--no-git"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "apps" / "my-app" / "infra" / "main.bicep").is_file()


def test_bad_name_suggests_a_valid_one() -> None:
    done = runner.invoke(app, ["new", "My_App", "-r", "responses", "--no-input", "--dry-run"])
    assert done.exit_code == 2
    assert "hint: try 'my-app'" in done.stderr


def test_generating_inside_another_work_tree_says_so(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    result = new(make_spec("responses"), tmp_path / "demo", git=True)
    assert any(f"inside the git work tree of another project ({tmp_path})" in w for w in result.warnings)
    assert result.git.startswith("skipped") and not (tmp_path / "demo" / ".git").exists()


def test_near_miss_format_lists_the_valid_formats() -> None:
    done = runner.invoke(app, ["new", "bot", "-r", "inference", "-m", "Mistral-Large-2512@1,format=Mistral",
                               "--no-input", "--dry-run"])
    assert done.exit_code == 2
    assert "unknown format 'Mistral'; did you mean 'Mistral AI'?" in done.stderr
    assert "valid formats: " in done.stderr and "OpenAI" in done.stderr
    assert "not served by" not in done.stderr


# -- 6. help and errors that tell the truth ----------------------------------------------------------------------

def _help(*command: str) -> str:
    done = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert done.exit_code == 0
    return done.stdout


def test_help_has_no_bool_metavars_and_shows_defaults() -> None:
    for command in ("new", "recommend", "check", "provision", "preflight", "destroy", "models"):
        text = _help(command)
        assert "<bool>" not in text and "╭" not in text, command
        assert not re.search(r"\w \.(\s|$)", text), f"{command}: a stray space where a default vanished"
    text = " ".join(_help("new").split())
    assert "[default: $AZURE_LOCATION or eastus2]" in text
    assert "NAME[@VERSION][,sku=S]" in text.replace(" ", "")


def test_preflight_help_says_what_preflight_does() -> None:
    text = " ".join(_help("preflight").split())
    assert "created if missing" not in text
    assert "Purge the soft-deleted" not in text and "purges nothing" in text
    assert "created if missing" in " ".join(_help("provision").split())


def test_readme_does_not_call_runtime_required() -> None:
    row = next(line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("| `--runtime/-r`"))
    assert "required" not in row


def test_debug_after_the_subcommand(tmp_path: Path) -> None:
    done = runner.invoke(app, ["check", str(tmp_path), "--offline", "--debug"])
    assert done.exit_code == 2
    assert "Traceback" in done.stderr and "not a repo generated by foundry-scaffolder" in done.stderr


def test_usage_errors_are_one_line_and_a_hint_with_exit_2() -> None:
    done = runner.invoke(app, ["new", "demo", "--runtim", "responses"])
    assert done.exit_code == 2
    lines = done.stderr.splitlines()
    assert lines == ["error: No such option: --runtim (Possible options: --runtime, --trust)",
                     "hint: `scaffolder new --help` lists the arguments and options"]
    proc = subprocess.run([*SCAFFOLDER, "models", "--runtime", "nope"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 2 and proc.stderr.startswith("error: ")


def _commands() -> list[str]:
    from typer.main import get_command

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_help_metavars_are_words_and_ranges_are_sentences() -> None:
    commands = _commands()
    assert {"new", "check", "provision", "update"} <= set(commands)
    for command in ["", *commands]:
        text = _help(*([command] if command else []))
        assert not re.search(r"<(str|path|float|int|file|directory|text|bool)>", text), (command, text)
        assert not re.search(r"\bx\s*[<>]=|<=\s*x\b", text), (command, text)
        assert "[default: NAME]" not in text, command
    assert "[at least 1]" in _help("new") and "--capacity N" in _help("new")
    assert "--timeout SECONDS" in _help("provision")
    assert "--standards FILE" in _help("update") and "--decision FILE" in _help("update")
    assert re.search(r"^  DIR\s", _help("update"), flags=re.MULTILINE)
    assert re.search(r"^  NAME\s+Project name", _help("new"), flags=re.MULTILINE)


@pytest.mark.parametrize("args, flag, choices", [
    (["new", "x", "--runtime"], "--runtime", "responses, agents, inference"),
    (["new", "x", "-r"], "--runtime", "responses, agents, inference"),
    (["new", "x", "-r", "responses", "--network"], "--network", "public, ip-restricted"),
])
def test_a_missing_option_value_names_the_choices_and_the_fix(args: list[str], flag: str, choices: str) -> None:
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    error, hint = done.stderr.splitlines()
    assert error == f"error: {flag} needs a value: one of {choices}"
    assert hint.startswith(f"hint: e.g. `scaffolder new ... {flag} ") and "scaffolder new --help" in hint
    done = runner.invoke(app, ["new", "x", "--location"])
    assert done.exit_code == 2
    assert done.stderr.splitlines() == ["error: --location needs a value",
                                        "hint: give it one: `--location REGION`; `scaffolder new --help` lists the "
                                        "arguments and options"]


@pytest.mark.parametrize("args, line", [
    (["new", "x", "-r", "bogus"],
     "error: --runtime 'bogus' is not a choice; valid choices: responses, agents, inference"),
    (["new", "x", "-r", "agent"],
     "error: --runtime 'agent' is not a choice; did you mean 'agents'? valid choices: responses, agents, inference"),
    (["new", "x", "-r", "responses", "--network", "ip"],
     "error: --network 'ip' is not a choice; did you mean 'ip-restricted'? valid choices: public, ip-restricted"),
    (["models", "--runtime", "inferense"],
     "error: --runtime 'inferense' is not a choice; did you mean 'inference'? valid choices: responses, agents, "
     "inference"),
    (["new", "x", "-r", "responses", "--capacity", "0"], "error: --capacity '0' is out of range: at least 1"),
    (["new", "x", "-r", "responses", "--capacity", "abc"], "error: --capacity 'abc' is not a whole number"),
    (["new", "x", "-r", "responses", "--capacity", "1.5"], "error: --capacity '1.5' is not a whole number"),
    (["provision", ".", "--timeout", "soon"], "error: --timeout 'soon' is not a number"),
])
def test_bad_option_values_are_one_line_in_words(args: list[str], line: str) -> None:
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0] == line and lines[1].startswith("hint: ")
    assert "Value error" not in done.stderr and "Input should be" not in done.stderr


@pytest.mark.parametrize("command", ["provision", "preflight", "destroy"])
def test_missing_subscription_or_group_is_bad_input(command: str, tmp_path: Path) -> None:
    done = runner.invoke(app, [command, str(tmp_path), "-g", "rg"])
    assert done.exit_code == 2
    assert done.stderr.startswith("error: missing --subscription/-s")
    done = runner.invoke(app, [command, str(tmp_path), "-s", "sub"])
    assert done.exit_code == 2 and "--resource-group/-g" in done.stderr


def test_missing_standards_file_is_bad_input_not_a_broken_standard(tmp_path: Path) -> None:
    done = runner.invoke(app, ["new", "demo", "-r", "responses", "--standards", str(tmp_path / "nope.yml"),
                               "--dry-run", "--no-input"])
    assert done.exit_code == 2 and "cannot read standards file" in done.stderr


def test_yaml_errors_in_user_files_say_where_in_words(tmp_path: Path) -> None:
    bad = tmp_path / "d.yml"
    bad.write_text("state: yes\n  tools: [\n")
    done = runner.invoke(app, ["new", "demo", "-r", "responses", "--decision", str(bad), "--dry-run", "--no-input"])
    assert done.exit_code == 2
    assert f"{bad} line 2, column 8: a ':' where none can be" in done.stderr
    assert "<unicode string>" not in done.stderr and "^" not in done.stderr
    repo = tmp_path / "repo"
    new(make_spec("responses"), repo)
    (repo / ".scaffolder.yml").write_text("spec: [\n")
    checked = runner.invoke(app, ["check", str(repo), "--offline"])
    assert checked.exit_code == 2 and re.search(r"\.scaffolder\.yml line \d+, column \d+: ", checked.stderr)


# Broken YAML as people write it, and what the one line says (PyYAML's internals never reach the user).
BROKEN_YAML = [
    ("regions: [eastus2\n", "line 2, column 1: the file ends inside a list opened on line 1; a ']' is missing"),
    ("regions: [eastus2\nmodels: x\n",
     "line 2, column 7: the list opened on line 1 is not closed: a ',' or ']' is missing before ':'"),
    ("defaults: {location: x\n", "line 2, column 1: the file ends inside a {...} mapping opened on line 1; a '}' is "
                                  "missing"),
    ("name: 'abc\n", "line 2, column 1: the file ends inside a quoted string opened on line 1; its closing quote is "
                     "missing"),
    ("\tregions: []\n", "line 1, column 1: a tab character: YAML indents with spaces only"),
    ("a:\n  - 1\n b: 2\n", "line 3, column 2: this line is indented differently from the block opened on line 1"),
    ("a: *nope\n", "line 1, column 4: the alias *nope refers to no anchor &nope above it"),
    ("a: @x\n", "line 1, column 4: a value cannot start with '@': put the value in quotes"),
]
_INTERNALS = re.compile(r"<[a-z ]+>|but got|while (parsing|scanning)|\^|<unicode string>")


@pytest.mark.parametrize("text, said", BROKEN_YAML)
def test_yaml_errors_read_the_same_in_standards_and_answers_files(tmp_path: Path, text: str, said: str) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    standards = runner.invoke(app, ["new", "demo", "-r", "responses", "--standards", str(bad), "--dry-run",
                                    "--no-input"])
    answers = runner.invoke(app, ["recommend", "--answers", str(bad), "--no-input"])
    for done, prefix, hint in ((standards, "", "fix the standards file"), (answers, "answers file ", "fix the file")):
        error, hint_line = done.stderr.splitlines()
        assert error.startswith(f"error: {prefix}{bad} {said}"), error
        assert hint_line.startswith(f"hint: {hint}")
        assert not _INTERNALS.search(done.stderr), done.stderr
    assert standards.exit_code == 3 and answers.exit_code == 2


def test_toml_standards_errors_use_the_same_form(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('[regions]\nallowed = ["eastus2"\nx = 1\n')
    done = runner.invoke(app, ["new", "demo", "-r", "responses", "--standards", str(bad), "--dry-run", "--no-input"])
    assert done.exit_code == 3
    assert re.match(rf"error: {re.escape(str(bad))} line 3, column \d+: \w", done.stderr), done.stderr


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet="ab:-[]{}'\"\t\n #&*!@|>?,.", max_size=40))
def test_no_yaml_error_shows_parser_internals(text: str) -> None:
    import yaml

    from scaffolder.errors import yaml_problem

    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        said = yaml_problem("f.yml", exc)
        assert not _INTERNALS.search(said), (text, said)
        assert re.match(r"f\.yml( line \d+, column \d+)?: \S", said), said
    except ValueError:  # a bad !!int: PyYAML's constructor, not its parser
        pass


def test_yes_no_questions_take_y_and_n() -> None:
    from scaffolder.decision import validate_answers

    assert validate_answers({"state": "y", "connectors": "N", "models": "l"}) == {
        "state": "yes", "connectors": "no", "models": "later"}


def test_ctrl_c_at_a_prompt_ends_the_line(tmp_path: Path) -> None:
    # A shell starts background jobs with SIGINT ignored and children inherit that: give the child the default
    # disposition so the test holds however the suite was launched (`pytest &`, nohup, CI runners).
    child = pexpect.spawn(SCAFFOLDER[0], [*SCAFFOLDER[1:], "new", "-o", str(tmp_path)], env=_tty_env(),
                          encoding="utf-8", timeout=30, dimensions=(40, 200),
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    child.expect("Project name")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    after = child.before
    assert child.exitstatus == 130
    line = next(x for x in after.splitlines() if "stopped by user" in x)
    assert line.strip() == "stopped by user", repr(after)


# -- 9. generated repos: git init + initial commit ---------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not shutil.which("git"), reason="git is not on PATH")
def test_generated_repo_is_a_git_repo_with_an_initial_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    done = runner.invoke(app, ["new", "demo", "-r", "responses", "-o", str(tmp_path), "--no-input"])
    assert done.exit_code == 0, done.output
    assert "git: initialised with an initial commit" in done.stderr
    repo = tmp_path / "demo"
    from scaffolder import __version__

    assert _git(repo, "log", "--format=%s|%at").strip() == f"Generated by foundry-scaffolder {__version__}|1767225600"
    assert _git(repo, "status", "--porcelain") == "", "everything generated is committed"
    tracked = set(_git(repo, "ls-files").split())
    assert {".scaffolder.yml", "infra/main.bicep", "pyproject.toml"} <= tracked
    skipped = runner.invoke(app, ["new", "other", "-r", "responses", "-o", str(tmp_path), "--no-input", "--no-git"])
    assert skipped.exit_code == 0 and not (tmp_path / "other" / ".git").exists()
    assert "git:" not in skipped.stderr


def test_bare_scaffolder_prints_the_help() -> None:
    done = runner.invoke(app, [])
    assert done.exit_code == 2
    assert done.stdout.startswith("Usage: scaffolder [OPTIONS] COMMAND") and "error:" not in done.stdout + done.stderr


@pytest.mark.parametrize("content, line, hint", [
    ("state: maybe\n", "state: 'maybe' is not one of yes, no", "hint: write e.g. `state: yes` in {file}"),
    ("stat: yes\n", "unknown question 'stat'; did you mean 'state'? questions: ",
     "hint: rename it to 'state' in {file}"),
])
def test_decision_file_errors_name_the_file_and_what_to_write(tmp_path: Path, content: str, line: str,
                                                              hint: str) -> None:
    answers = tmp_path / "a.yml"
    answers.write_text(content)
    done = runner.invoke(app, ["new", str(tmp_path / "demo"), "--decision", str(answers), "--no-input"])
    assert done.exit_code == 2, done.output
    first, second = done.stderr.splitlines()[:2]
    assert first.startswith(f"error: answers file {answers}: {line}"), first
    assert second == hint.format(file=answers)
    assert "--state" not in done.stderr  # `new` has no such flag


@pytest.mark.parametrize("content, line", [
    ("name: t\nfoo: 1\n", "s.yml:2: foo: unknown key; valid keys here: name, "),
    ("name: t\nregions:\n  allowed: eastus\n", "s.yml:3: regions.allowed: must be a list, e.g. [a, b]"),
    ("name: t\ncheck:\n  strict: maybe\n", "s.yml:3: check.strict: must be true or false"),
    ("name: t\ncheck:\n  strictt: true\n", "s.yml:3: check.strictt: unknown key; valid keys here: strict"),
])
def test_standards_schema_errors_are_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str,
                                              line: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yml").write_text(content)
    done = runner.invoke(app, ["new", "x", "-r", "responses", "--standards", "s.yml", "--dry-run", "--no-input"])
    assert done.exit_code == 3, done.output
    assert done.stderr.startswith(f"error: {line}"), done.stderr
    assert "Input should" not in done.stderr and "Extra inputs" not in done.stderr


def test_a_model_capacity_below_one_is_said_in_words() -> None:
    done = runner.invoke(app, ["new", "xx", "-r", "responses", "-m", "gpt-5.4,capacity=0", "--dry-run", "--no-input"])
    assert done.exit_code == 2
    assert done.stderr.splitlines()[0] == "error: --model 'gpt-5.4,capacity=0': capacity must be at least 1"


def test_help_and_format_nits_of_review_9b(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from scaffolder.checks import OWNED

    monkeypatch.setenv("COLUMNS", "200")
    models = " ".join(runner.invoke(app, ["models", "--help"]).stdout.split())
    sub = re.search(r"--subscription ID (.*?)(\[env|$)", models)
    assert sub is not None and sub.group(1).startswith("With --live"), models  # `models` runs without it
    assert runner.invoke(app, ["models", "--cloud", "bogus"]).exit_code == 2  # an enum, as in provision
    update = " ".join(runner.invoke(app, ["update", "--help"]).stdout.split())
    assert "--location REGION" in update and "--tag KEY=VALUE" in update  # as `new` says them
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s1.toml").write_text('name = "t"\n[regions]\nallowed = ["eastus"')
    toml = runner.invoke(app, ["new", "x", "-r", "responses", "--standards", "s1.toml", "--dry-run", "--no-input"])
    assert toml.stderr.startswith("error: s1.toml line 3, column 20: unclosed array where the file ends"), toml.stderr
    named = runner.invoke(app, ["new", "--name", "x", "-r", "responses", "--dry-run", "--no-input"])
    assert named.exit_code == 2 and named.stderr.splitlines()[1] == "hint: fix --name"
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    listed = re.search(r"files the generator writes \(([^)]*)\)", readme)
    assert listed is not None
    owned = sorted(o for o in OWNED if o != ".scaffolder.yml")
    assert sorted(x.strip(" `") for x in listed.group(1).split(",")) == owned


def test_recommend_without_save_prints_the_answers_as_flags_and_a_new_that_carries_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import shlex

    monkeypatch.chdir(tmp_path)
    shown = runner.invoke(app, ["recommend", "--state", "no", "--tools", "no", "--partner-models", "now"])
    assert shown.exit_code == 0, shown.output
    lines = [line.strip() for line in shown.stdout.splitlines()]
    again = next(line for line in lines if line.startswith("scaffolder recommend "))
    assert "--partner-models now" in again and "--state no" in again
    assert "scaffolder new NAME --decision decision.json" in lines
    assert not any(line.startswith("scaffolder new NAME --runtime") for line in lines)  # would drop the partner model
    # Running the printed command asks nothing and records the same answers.
    done = runner.invoke(app, shlex.split(again)[1:])
    assert done.exit_code == 0, done.output
    saved = json.loads((tmp_path / "decision.json").read_text())
    assert saved["answers"] == {"state": "no", "tools": "no", "models": "now", "connectors": "not asked",
                                "multi_agent": "not asked"}
