"""Agents repos with file search get `files add` (files.py, the CLI hook, README and docs)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_spec
from tests.validate.cases import write_repo


def test_file_search_on_agents_generates_files_add(tmp_path: Path) -> None:
    repo = write_repo(make_spec("agents", name="docs-bot", tools=["file-search"]), tmp_path / "repo")
    package = repo / "src" / "docs_bot"
    files = (package / "files.py").read_text()
    assert "project_client(settings).get_openai_client()" in files and "VECTOR_STORE_NAME" in files
    assert "from docs_bot import agent_cli, files" in (package / "cli.py").read_text()  # one sorted import line
    assert "    files.register(sub)" in (package / "cli.py").read_text()
    readme = (repo / "README.md").read_text()
    assert "`docs-bot files add PATH...` uploads files" in readme and "`APP_FILES_TIMEOUT_SECONDS`" in readme
    docs = (repo / "docs" / "agent-tools.md").read_text()
    assert "`docs-bot files add PATH...` creates it on first use" in docs and "no upload command" not in docs
    assert (repo / "tests" / "test_files.py").is_file()


def test_without_file_search_there_is_no_files_command(tmp_path: Path) -> None:
    repo = write_repo(make_spec("agents", name="docs-bot", tools=["code-interpreter"]), tmp_path / "repo")
    assert not (repo / "src" / "docs_bot" / "files.py").exists()
    assert not (repo / "tests" / "test_files.py").exists()
    assert "from docs_bot import agent_cli\n" in (repo / "src" / "docs_bot" / "cli.py").read_text()


def test_the_openapi_spec_ships_in_the_wheel_only_with_the_openapi_tool(tmp_path: Path) -> None:
    """review-16 F9: `agent sync` from an installed wheel reads the spec the wheel carries (hatch force-include)."""
    with_spec = write_repo(make_spec("agents", name="api-bot", tools=["openapi,name=weather"]), tmp_path / "a")
    pyproject = (with_spec / "pyproject.toml").read_text()
    assert '[tool.hatch.build.targets.wheel.force-include]\n"openapi" = "api_bot/openapi"' in pyproject
    assert "def openapi_spec_file()" in (with_spec / "src" / "api_bot" / "agent_tools.py").read_text()
    without = write_repo(make_spec("agents", name="api-bot", tools=["code-interpreter"]), tmp_path / "b")
    assert "force-include" not in (without / "pyproject.toml").read_text()
