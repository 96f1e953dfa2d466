"""Suite-wide fixtures: every test runs with an isolated HOME and no Azure/scaffolder environment leaking in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis profiles: quick locally, thorough in CI (CI=true) or when HYPOTHESIS_PROFILE names one.
settings.register_profile("fast", max_examples=30)
settings.register_profile("thorough", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("thorough" if os.environ.get("CI") else "fast"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

_LEAKY_PREFIXES = ("AZURE_", "SCAFFOLDER_", "ARM_", "MSI_", "IDENTITY_")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at a fresh directory and drop variables that would change behaviour (cookiecutter style)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) and name != "SCAFFOLDER_CHECKOV_VENV":
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
