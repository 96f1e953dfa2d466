"""Generate a runtime's repo with `scaffolder new`, install it into its own venv, run its tests and its CLI.

Used by one test module per runtime (test_<runtime>_app.py); the fake Foundry the CLI talks to is the generated
repo's own (tests/fake_foundry.py + tests/fake_service.py, standard library only), loaded from that repo.
"""

from __future__ import annotations

import importlib
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

# Resolved at import time, before the suite's per-test HOME isolation: the real pip cache keeps installs warm.
PIP_CACHE = Path(os.environ.get("PIP_CACHE_DIR") or Path.home() / ".cache" / "pip")
# uv's own cache, and the system's certificate store (as pip uses): an index reached through a TLS-inspecting
# proxy is trusted by the system store only (UV_SYSTEM_CERTS; older uv reads UV_NATIVE_TLS).
UV_ENV = {"UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv"),
          "UV_SYSTEM_CERTS": "1", "UV_NATIVE_TLS": "1"}
# One mypy cache for every generated repo: mypy reuses a module's cache entry when the source's hash matches, even
# from another path, so openai, pydantic, fastapi and the Azure SDKs are analysed once per run, not once per repo
# (about 20 s -> 5 s a repo here). The file store (not mypy's default SQLite one, which a second writer finds
# locked) writes each entry atomically, so concurrent workers are safe.
MYPY_CACHE = Path(tempfile.gettempdir()) / "foundry-scaffolder-tests" / "mypy-cache"
_LEAKY = ("AZURE_", "APP_", "IDENTITY_", "MSI_", "IMDS_", "SSL_CERT_", "REQUESTS_CA_BUNDLE", "OPENAI_", "PYTEST_",
          "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "SCAFFOLDER_", "LANGSMITH_", "LANGCHAIN_")
# The one audience Foundry's /openai/v1/ and project endpoints accept, hard-coded (not read from the catalog) so a
# wrong token_scope in the catalog fails these CLI runs: "Tokens must be issued with scope
# `https://ai.azure.com/.default`" (MicrosoftDocs/azure-ai-docs, articles/foundry/foundry-models/includes/
# code-create-chat-client-entra.md, ms.date 2026-07-31).
AUDIENCE = "https://ai.azure.com"
_SUMMARY = re.compile(r"^=*\s*(?P<body>(?:\d+ \w+(?:, )?)+) in (?P<secs>[\d.]+)s", re.MULTILINE)


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without anything that could point the app (or pip) somewhere else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY)}
    env["PIP_CACHE_DIR"] = str(PIP_CACHE)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _must(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise AssertionError(f"{what} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@dataclass(frozen=True)
class PytestRun:
    """The outcome of the generated repo's own test suite."""

    returncode: int
    counts: dict[str, int]
    seconds: float
    output: str


@dataclass
class AppRepo:
    """A generated repo installed in its own virtual environment."""

    runtime: str
    project: str
    root: Path
    venv: Path
    install_seconds: float = 0.0

    @property
    def package(self) -> str:
        return self.project.replace("-", "_")

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def run(
        self, *command: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """A command from the venv's bin/ (python, pytest, ruff, the console script), run in the repo root."""
        return _run([str(self.bin(command[0])), *command[1:]], self.root, env or clean_env(), timeout)

    def cli(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """The generated console script (`<project> ...`)."""
        return self.run(self.project, *args, env=env, timeout=120)

    def pytest(self, env: dict[str, str] | None = None) -> PytestRun:
        """Run the repo's tests as a user would (`pytest` in the repo root) and parse pytest's summary line."""
        result = self.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env, timeout=600)
        output = result.stdout + result.stderr
        found = _SUMMARY.findall(output)
        counts: dict[str, int] = {}
        seconds = 0.0
        if found:
            body, secs = found[-1]
            seconds = float(secs)
            for part in body.split(", "):
                number, word = part.split(" ", 1)
                counts[word] = int(number)
        return PytestRun(result.returncode, counts, seconds, output)

    def mypy(self) -> subprocess.CompletedProcess[str]:
        """Type-check the repo (its [tool.mypy] config) with this environment's mypy against the repo's venv."""
        command = [sys.executable, "-m", "mypy", "--python-executable", str(self.bin("python")),
                   "--cache-dir", str(MYPY_CACHE), "--no-sqlite-cache"]
        return _run(command, self.root, clean_env(), 600)

    def load_fakes(self) -> tuple[ModuleType, ModuleType]:
        """The repo's fake Foundry and its runtime routes (tests/fake_foundry.py, tests/fake_service.py)."""
        tests_dir = str(self.root / "tests")
        names = ("fake_foundry", "fake_service")
        saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
        sys.path.insert(0, tests_dir)
        try:
            modules = tuple(importlib.import_module(name) for name in names)
        finally:
            sys.path.remove(tests_dir)
            for name in names:
                sys.modules.pop(name, None)
            sys.modules.update(saved)
        return modules[0], modules[1]


def scaffolder_command() -> list[str]:
    """The scaffolder console script of this environment."""
    script = Path(sys.executable).with_name("scaffolder")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from scaffolder.cli import main; main()"]


def build_app(
    runtime: str, workdir: Path, project: str | None = None, models: tuple[str, ...] = (), tools: tuple[str, ...] = (),
    framework: str | None = None, extra: tuple[str, ...] = (),
) -> AppRepo:
    """`scaffolder new` (with `--model` for each of `models`, the first the primary; none: the runtime's default;
    `--tool` for each of `tools`; `--framework` when given; then the `extra` arguments, e.g. `--agent-setup
    standard`), then a venv with `uv pip install -e .[dev]` (pip if uv fails: same resolution, 7 s instead of 60 s
    a repo on this machine, and a run builds about ten repos)."""
    project = project or f"{runtime}-app"
    env = clean_env()
    chosen = [arg for model in models for arg in ("--model", model)]
    chosen += [arg for tool in tools for arg in ("--tool", tool)]
    chosen += ["--framework", framework] if framework else []
    chosen += list(extra)
    _must(_run([*scaffolder_command(), "new", project, "--runtime", runtime, *chosen, "--no-input"], workdir, env, 120),
          "scaffolder new")
    root = workdir / project
    venv = workdir / ".venv"
    started = time.perf_counter()
    _must(_run([sys.executable, "-m", "venv", "--without-pip", str(venv)], workdir, env, 120), "venv")
    python = str(venv / "bin" / "python")
    uv = _run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python", python, "-e", ".[dev]"], root,
              {**env, **UV_ENV}, 900)
    if uv.returncode != 0:  # e.g. an index only pip's configuration names: pip decides, and its error is the one shown
        # pip from this environment installs into the new venv (`--python`), which saves bootstrapping pip there.
        pip = [sys.executable, "-m", "pip", "--python", python]
        _must(_run([*pip, "install", "-q", "--prefer-binary", "-e", ".[dev]"], root, env, 900), "pip install")
    return AppRepo(runtime, project, root, venv, time.perf_counter() - started)


@dataclass
class LiveFake:
    """A running fake Foundry for one runtime and the environment that points the generated app at it."""

    server: Any  # fake_foundry.FakeFoundry
    env: dict[str, str]
    audience: str


@contextmanager
def fake_foundry(repo: AppRepo, state_dir: Path) -> Iterator[LiveFake]:
    """Start the repo's own fake service; only tokens for AUDIENCE are accepted."""
    foundry_mod, service_mod = repo.load_fakes()
    audience = AUDIENCE
    extra: dict[str, str] = {}
    tls = None
    if getattr(service_mod, "TLS", False):
        import trustme

        ca = trustme.CA()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
        ca_file = state_dir / "fake-foundry-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        extra = {"SSL_CERT_FILE": str(ca_file), "REQUESTS_CA_BUNDLE": str(ca_file)}
    with foundry_mod.FakeFoundry(audience, tls=tls) as server:
        server.runtime = service_mod.install(server)
        env = clean_env(
            **server.identity_env(), **service_mod.app_env(server), **extra,
            APP_STATE_PATH=str(state_dir / "state.sqlite3"),
        )
        yield LiveFake(server, env, audience)
