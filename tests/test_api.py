"""The public library API: every name in __all__ resolves, lazily, and `import scaffolder` stays light."""

from __future__ import annotations

import subprocess
import sys

import scaffolder


def test_every_public_name_resolves() -> None:
    for name in scaffolder.__all__:
        assert getattr(scaffolder, name) is not None, name
    assert callable(scaffolder.check) and callable(scaffolder.recommend) and callable(scaffolder.Provisioner)


def test_import_loads_nothing_heavy() -> None:
    heavy = ("azure", "openai", "pydantic", "jinja2", "tree_sitter")
    probe = f"import sys, scaffolder; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_library_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = scaffolder.recommend({"multi_agent": "yes"})
    spec = scaffolder.resolve_spec(name="helper", runtime=rec.runtime.value, location="swedencentral")
    result = scaffolder.new(spec, tmp_path / "helper")
    assert result.actions and not result.warnings
    verdict = scaffolder.check(tmp_path / "helper", offline_only=True)
    assert isinstance(verdict, scaffolder.CheckResult) and verdict.ok
