"""`scaffolder update --tool / --remove-tool`: tools added, changed and removed ; refusals write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scaffolder._new import new, resolve_spec
from scaffolder.cli import app
from scaffolder.generate import plan_files
from scaffolder.generate._plan import PRISTINE_FILE

runner = CliRunner()
MCP = "mcp,url=https://mcp.example.com/mcp,label=docs"


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def _repo(tmp_path: Path, runtime: str, tools: list[str]) -> Path:
    repo = tmp_path / "demo"
    new(resolve_spec(name="demo", runtime=runtime, location="eastus2", tools=tools), repo)
    return repo


def _files(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*") if p.is_file()}


def _tools(repo: Path) -> list[dict[str, object]]:
    doc = yaml.safe_load((repo / ".scaffolder.yml").read_text())
    return list(doc["spec"]["tools"])


def _same_as_new(repo: Path, runtime: str, tools: list[str]) -> None:
    """An untouched repo updated to these tools holds exactly what `new` generates with them."""
    plan = plan_files(resolve_spec(name="demo", runtime=runtime, location="eastus2", tools=tools))
    files = _files(repo)
    wanted = {str(f.path): f.content for f in plan.files}
    kept = {p for p in files if not p.startswith((".git/", ".scaffolder/backups/"))}  # backups: no git here
    assert kept - {PRISTINE_FILE} == set(wanted)
    for path, content in wanted.items():
        assert files[path] == content, path


def _update(repo: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["update", str(repo), "--allow-dirty", *args])
    return result.exit_code, result.stderr


def test_update_adds_changes_and_removes_tools_like_new(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "responses", ["web-search"])
    code, err = _update(repo, "--tool", "file-search")
    assert code == 0, err
    assert [t["name"] for t in _tools(repo)] == ["file-search", "web-search"]
    _same_as_new(repo, "responses", ["file-search", "web-search"])
    assert (repo / "src/demo/files.py").is_file()

    code, err = _update(repo, "--tool", MCP, "--remove-tool", "web-search")
    assert code == 0, err
    _same_as_new(repo, "responses", ["file-search", MCP])

    # --tool again changes a recorded tool's options; the other tools keep theirs
    code, err = _update(repo, "--tool", "mcp,url=https://other.example/mcp,label=kb,approval=never")
    assert code == 0, err
    assert '"https://other.example/mcp"' in (repo / "src/demo/hosted.py").read_text()
    _same_as_new(repo, "responses", ["file-search", "mcp,url=https://other.example/mcp,label=kb,approval=never"])

    code, err = _update(repo, "--remove-tool", "file-search", "--remove-tool", "mcp")
    assert code == 0, err
    assert _tools(repo) == [] and not (repo / "src/demo/files.py").exists()
    _same_as_new(repo, "responses", [])


def test_update_tool_keeps_the_users_edits(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "inference", [])
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\nOur team notes.\n")
    code, err = _update(repo, "--tool", "file-search")
    assert code == 0, err
    text = readme.read_text()
    assert text.endswith("\nOur team notes.\n") and "#### File search (Azure AI Search, app side)" in text
    params = (repo / "infra/main.parameters.json").read_text()
    assert "${APP_SEARCH_INDEX=demo-files}" in params  # the tool's settings reach the container app too


@pytest.mark.parametrize(("runtime", "tools", "args", "said"), [
    ("inference", [], ["--tool", "code-interpreter"], "code-interpreter is not offered on the Inference"),
    ("responses", ["web-search"], ["--remove-tool", "image-generation"], "this repo has no image-generation tool"),
    ("responses", ["web-search"], ["--remove-tool", "web-serch"], "did you mean web-search"),
    ("responses", [MCP], ["--tool", MCP, "--remove-tool", "mcp"], "--tool mcp and --remove-tool mcp both given"),
    ("responses", [], ["--tool", "mcp,url=ftp://x/mcp,label=a"], "mcp: url="),
    ("responses", [], ["--tool", "mcp,label=a"], "mcp needs url="),
    ("responses", ["web-search"], ["--runtime", "inference", "--tool", "file-search"], "web-search is not offered"),
    ("responses", ["web-search"], ["--remove-tool", "function"], "function tools are always on"),
])
def test_refused_tool_changes_are_one_line_and_write_nothing(
    tmp_path: Path, runtime: str, tools: list[str], args: list[str], said: str
) -> None:
    repo = _repo(tmp_path, runtime, tools)
    before = _files(repo)
    code, err = _update(repo, *args)
    assert code == 2, err
    first, *rest = err.strip().splitlines()
    assert first.startswith("error: ") and said in first, err
    assert all(line.startswith("hint: ") for line in rest) and "Traceback" not in err
    assert _files(repo) == before


def test_a_tool_the_runtime_does_not_offer_hints_at_the_runtime(tmp_path: Path) -> None:
    """review-15 LOW-9: the fix for a runtime mismatch is a runtime (or leaving the tool out), not `--tool`."""
    result = runner.invoke(app, ["new", "demo", "-r", "inference", "--tool", "code-interpreter", "--no-input",
                                 "--no-git", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "hint: choose --runtime responses, or leave code-interpreter out" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_specialist_agents_are_added_changed_and_removed_one_by_one(tmp_path: Path) -> None:
    # `agent` is repeatable: each --tool agent,name=X is its own specialist, so update must key them by name=.
    repo = _repo(tmp_path, "agents", ["agent,name=billing", "agent,name=support"])

    def specialists() -> list[tuple[object, object]]:
        return [(t["options"]["name"], t["options"].get("instructions"))  # type: ignore[index,union-attr]
                for t in _tools(repo) if t["name"] == "agent"]

    code, err = _update(repo, "--tool", "agent,name=legal")
    assert code == 0, err
    assert [n for n, _ in specialists()] == ["billing", "support", "legal"]
    _same_as_new(repo, "agents", ["agent,name=billing", "agent,name=support", "agent,name=legal"])

    code, err = _update(repo, "--tool", "agent,name=support,instructions=Answer support questions.")
    assert code == 0, err
    assert specialists()[1] == ("support", "Answer support questions.") and len(specialists()) == 3

    code, err = _update(repo, "--remove-tool", "agent,name=billing")
    assert code == 0, err
    assert [n for n, _ in specialists()] == ["support", "legal"]

    before = _files(repo)
    code, err = _update(repo, "--remove-tool", "agent,name=nobody")
    assert code == 2 and "no agent tool with name=nobody" in err, err
    assert _files(repo) == before

    code, err = _update(repo, "--remove-tool", "agent")
    assert code == 0, err
    assert specialists() == []


def test_refused_removals_and_runtime_switches_hint_at_the_fix(tmp_path: Path) -> None:
    """review-15b LOW-9: function tools cannot be removed; a runtime switch keeping a tool hints `--remove-tool`."""
    repo = _repo(tmp_path, "responses", ["image-generation"])
    code, err = _update(repo, "--remove-tool", "function")
    assert code == 2 and "function tools are always on (the app's own functions in tools.py); they cannot be " \
        "removed" in err
    code, err = _update(repo, "--runtime", "inference")
    assert code == 2 and "image-generation is not offered on the" in err
    assert "hint: add `--remove-tool image-generation` to switch without it, or keep --runtime responses" in err
    assert "leave image-generation out" not in err


def test_a_switch_to_a_runtime_that_refuses_a_tool_option_names_the_option_fix(tmp_path: Path) -> None:
    # review-15c: `auth=header` (a token-protected MCP server) is fine on responses and refused on agents; the
    # switch must say so and point at the option, not tell the user to use the runtime they are leaving.
    repo = _repo(tmp_path, "responses", [MCP + ",auth=header"])
    before = _files(repo)
    code, err = _update(repo, "--runtime", "agents")
    assert code == 2 and "auth=header is not possible on the" in err, err
    assert "use --runtime responses" not in err
    assert "hint: give `--tool mcp,...` options the new runtime takes, or add `--remove-tool mcp`" in err
    assert _files(repo) == before
    code, err = _update(repo, "--runtime", "agents", "--tool", MCP + ",auth=none")
    assert code == 0, err
