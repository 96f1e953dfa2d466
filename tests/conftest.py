"""Suite-wide fixtures: an isolated HOME, the outside data (../shared) found in one place, slow tests opt-in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis profiles: quick locally, thorough in CI (CI=true) or when HYPOTHESIS_PROFILE names one.
settings.register_profile("fast", max_examples=30)
settings.register_profile("thorough", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("thorough" if os.environ.get("CI") else "fast"))

pytest_plugins = ["pytester"]  # tests/test_suite_setup.py runs this conftest on probe suites

REPO = Path(__file__).resolve().parents[1]

# The outside data the suite reads in place (never copied into the repo): Bicep type data and the azd schema.
# One variable points elsewhere (or at an empty directory, to check the suite without it).
SHARED_ENV = "SCAFFOLDER_SHARED_DIR"
# Opt-in for the exhaustive tests marked `slow` (the 12-repo matrix under checkov, installed generated repos).
SLOW_ENV = "SCAFFOLDER_SLOW_TESTS"
# The one checkov venv: the user cache the CLI uses (`scaffolder check --install-checkov`), resolved here
# before the per-test HOME isolation below changes what ~ means.
CHECKOV_ENV = "SCAFFOLDER_CHECKOV_VENV"


def _shared_root() -> Path:
    env = os.environ.get(SHARED_ENV)
    return Path(env).expanduser().resolve() if env else (REPO.parent / "shared").resolve()


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


SHARED = _shared_root()
CHECKOV_VENV = _user_cache() / "foundry-scaffolder" / "checkov-venv"
_LEAKY_PREFIXES = ("AZURE_", "SCAFFOLDER_", "ARM_", "MSI_", "IDENTITY_")


def shared_path(*parts: str) -> Path:
    """A path inside the outside data, or a skip naming what is missing and how to provide it.

    Every test that reads ../shared goes through here (directly or through a fixture below), so a clone
    without it skips those tests for one stated reason instead of failing.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"outside data absent: {path} not found (put shared/ beside the clone or set {SHARED_ENV})")
    return path


def has_shared(*parts: str) -> bool:
    """Whether the outside data holds parts (for helpers that cannot skip, e.g. the emulator)."""
    return SHARED.joinpath(*parts).exists()


@pytest.fixture(scope="session")
def bicep_types_dir() -> Path:
    """../shared/bicep-types (Bicep's type data), read in place."""
    return shared_path("bicep-types", "microsoft.cognitiveservices").parent


@pytest.fixture(scope="session")
def azd_schema_dir() -> Path:
    """../shared/azd-schema (azure.yaml's JSON schema and its refs), read in place."""
    return shared_path("azd-schema", "azure.yaml.json").parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", default=False,
        help=f"also run the tests marked slow (the exhaustive CI run; or set {SLOW_ENV}=1)",
    )


def run_slow(config: pytest.Config) -> bool:
    """Whether this run includes the slow tests: --slow, SCAFFOLDER_SLOW_TESTS=1, or `-m slow` asked for them."""
    return bool(config.getoption("--slow")) or os.environ.get(SLOW_ENV, "") not in ("", "0") or (
        "slow" in (config.getoption("-m") or "")
    )


def pytest_configure(config: pytest.Config) -> None:
    if run_slow(config):
        # Read back by examples() while test modules import (collection comes after configure).
        os.environ[SLOW_ENV] = "1"


def examples(full: int) -> int:
    """Hypothesis examples for a property: all of them in the exhaustive run, a fifth in the everyday one."""
    return full if os.environ.get(SLOW_ENV, "") not in ("", "0") else max(full // 5, 20)


# pytest-xdist (`-n logical --dist loadgroup`, pyproject addopts): tests that share an expensive session fixture
# run on one worker, so it is computed once per run instead of once per worker. Everything else spreads freely.
# (The generated app repos are shared across workers another way: tests/apps/conftest.py builds each once.)
XDIST_GROUPS = {
    "warm_checkov": "checkov",  # one parallel checkov batch over everything the suite scans, then cached reports
    "checkov": "checkov",
    "group_probe": "probe",  # tests/test_suite_setup.py checks that grouping reaches the scheduler
}


@pytest.fixture(scope="session")
def group_probe() -> str:
    """This worker's name: tests sharing it must all run on one worker."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _suffix_group_names(items: list[pytest.Item]) -> None:
    """Give grouped tests the `nodeid@group` ids xdist's loadgroup scheduler groups by.

    xdist 3.8 does this by assigning `item._nodeid`, which pytest 9 no longer reads (a node's id is `_id`, a
    structured NodeId), so on pytest 9 every group was silently spread over the workers and each worker built
    the shared fixtures again (the warm checkov batch: ~450 s on each of the 2 workers in a measured run).
    Done here while pytest keeps `_id`; on an older pytest xdist's own suffix still works and this does nothing.
    """
    try:
        from _pytest.nodeid import coerce_node_id  # pytest >= 9
    except ImportError:
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if groups and hasattr(item, "_id") and "@" not in item.nodeid.rpartition("]")[2]:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")


def _group_by_shared_fixture(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        group = next((XDIST_GROUPS[name] for name in names if name in XDIST_GROUPS), None)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _group_by_shared_fixture(items)
    if getattr(config.option, "loadgroup", False):
        _suffix_group_names(items)
    if run_slow(config):
        return
    skip = pytest.mark.skip(reason=f"slow: runs in CI (.ci/run); add --slow or set {SLOW_ENV}=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at a fresh directory and drop variables that would change behaviour (cookiecutter style)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) and name != CHECKOV_ENV:
            monkeypatch.delenv(name, raising=False)
    return home


# -- issue-8: one clock and an empty model cache for every test ---------------------------------------------
PINNED_EPOCH = "1795910400"  # 2026-11-29: model lifecycle verdicts (new, check, models) depend on the day


@pytest.fixture(autouse=True)
def pinned_clock_and_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin SOURCE_DATE_EPOCH and isolate XDG_CACHE_HOME (the live model cache), so no test depends on the real
    date or on the developer's cache. A test about the real clock deletes SOURCE_DATE_EPOCH itself."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", PINNED_EPOCH)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
