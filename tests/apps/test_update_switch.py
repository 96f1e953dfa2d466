"""Every runtime switch by `scaffolder update` yields a repo whose own tests, ruff, mypy --strict and check pass.

The user first edits a tool in tools.py and adds a line to README.md; both must survive. Each of the six switches
must give exactly what `scaffolder new` generates for the target runtime, apart from the user's two edits and the
repo's own history (.scaffolder.yml, the ADRs, backups): that is cheap and proves the code is the target runtime's,
whose suite tests/apps/test_generated_repos.py runs. The full suite, ruff, mypy and check then run on three of the
switches, one from and one to each runtime (about a minute of CI each). Installing a venv per switched
repo is the expensive part, so each switched repo runs in the shared venv of its target runtime (tests/apps
conftest): the repo is named like that venv's project and its `src` goes first on PYTHONPATH, so the switched
code, not the venv's editable install, is what runs and is type-checked.
"""

from __future__ import annotations

import pytest

from scaffolder._new import new, resolve_spec
from scaffolder._update import update
from scaffolder.checks import check
from tests.apps.conftest import repo_for
from tests.apps.harness import AppRepo, clean_env

pytestmark = pytest.mark.slow

RUNTIMES = ("responses", "agents", "inference")
SWITCHES = [(a, b) for a in RUNTIMES for b in RUNTIMES if a != b]
# One switch from and one to each runtime.
SUITE_SWITCHES = [("responses", "agents"), ("agents", "inference"), ("inference", "responses")]
HISTORY = (".scaffolder.yml", ".scaffolder/", "docs/adr/0001-runtime-choice.md", "docs/adr/0002-runtime-switch-to-")
# The user's edit to tools.py: the model reads a tool's description, so teams tune it. (Registering a tool of
# their own also works, once the generated tests derive the expected tools from TOOLS instead of naming them.)
TOOL_BEFORE = '"Current date and time in a time zone."'
TOOL_AFTER = '"Current date and time in any IANA time zone, e.g. for scheduling across our offices."'
README_LINE = "Team note: this service answers questions about our product catalog."


@pytest.fixture(params=SWITCHES, ids=[f"{a}-to-{b}" for a, b in SWITCHES])
def switched(
    request: pytest.FixtureRequest, app_repos: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> AppRepo:
    before, after = request.param
    venv_repo = repo_for(after, app_repos, tmp_path_factory)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    root = tmp_path_factory.mktemp(f"{before}-to-{after}") / venv_repo.project
    new(resolve_spec(name=venv_repo.project, runtime=before, location="eastus2"), root)
    tools = root / "src" / venv_repo.package / "tools.py"
    assert TOOL_BEFORE in tools.read_text()
    tools.write_text(tools.read_text().replace(TOOL_BEFORE, TOOL_AFTER))
    readme = root / "README.md"
    readme.write_text(f"{readme.read_text()}\n{README_LINE}\n")
    result = update(root, {"runtime": after})
    assert not result.conflicts, result.changes
    assert TOOL_AFTER in tools.read_text() and README_LINE in readme.read_text()
    assert (root / "docs" / "adr" / f"0002-runtime-switch-to-{after}.md").is_file()
    return AppRepo(after, venv_repo.project, root, venv_repo.venv)


def test_switched_repo_is_what_new_generates_plus_the_users_edits(
    switched: AppRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaffolder.generate import plan_files

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    spec = resolve_spec(name=switched.project, runtime=switched.runtime, location="eastus2")
    wanted = {str(f.path): f.content for f in plan_files(spec).files}
    tools = f"src/{switched.package}/tools.py"
    wanted[tools] = wanted[tools].replace(TOOL_BEFORE.encode(), TOOL_AFTER.encode())
    wanted["README.md"] = wanted["README.md"] + f"\n{README_LINE}\n".encode()
    found = {p.relative_to(switched.root).as_posix(): p.read_bytes() for p in switched.root.rglob("*") if p.is_file()}
    ours = {p for p in set(wanted) | set(found) if not p.startswith(HISTORY)}
    assert ours <= set(found) and ours <= set(wanted), sorted(ours ^ (set(found) & set(wanted)))
    assert [p for p in sorted(ours) if found[p] != wanted[p]] == []


@pytest.mark.parametrize("switched", SUITE_SWITCHES, indirect=True, ids=[f"{a}-to-{b}" for a, b in SUITE_SWITCHES])
def test_switched_repo_passes_its_own_suite_ruff_mypy_and_check(switched: AppRepo) -> None:
    env = clean_env(PYTHONPATH=str(switched.root / "src"))
    where = switched.run("python", "-c", f"import {switched.package}; print({switched.package}.__file__)", env=env)
    assert where.stdout.strip().startswith(str(switched.root)), where.stdout + where.stderr
    probe = f"from {switched.package}.tools import TOOLS; print(TOOLS['get_current_time'].description)"
    tools = switched.run("python", "-c", probe, env=env)
    assert "our offices" in tools.stdout, tools.stdout + tools.stderr
    suite = switched.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env, timeout=600)
    assert suite.returncode == 0, (suite.stdout + suite.stderr)[-6000:]
    lint = switched.run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    types = switched.mypy()
    assert types.returncode == 0, types.stdout + types.stderr
    found = check(switched.root, offline_only=True)
    assert found.ok, [str(f) for f in found.findings]
