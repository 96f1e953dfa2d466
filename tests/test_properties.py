"""Property-based: any input either yields a repo that passes every offline check, or one clear error and no files.

"Every check" is `scaffolder check` without external tools: drift, consistency, syntax, semantics, policies and
property types (static and with this spec's parameters rendered in). checkov is left to the 12-repo matrix
(tests/validate): the Bicep files are byte-identical for every spec, only the parameters vary.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scaffolder import catalog
from scaffolder._new import new, resolve_spec
from scaffolder.checks import check
from scaffolder.errors import ScaffolderError
from scaffolder.spec import load_answers
from tests.conftest import examples

# Mostly plausible input (so that about half the examples generate a repo), plus arbitrary junk.
valid_names = st.from_regex(r"[a-z][a-z0-9]{0,12}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
names = st.one_of(valid_names, valid_names, valid_names, st.text(alphabet="abcXYZ019-_. ", max_size=50))
model_names = st.one_of(st.sampled_from(sorted(catalog.models())), st.text(min_size=1, max_size=20))
capacities = st.one_of(st.none(), st.integers(min_value=1, max_value=1000), st.integers(-5, 200_000))
models = st.lists(st.tuples(model_names, capacities), min_size=0, max_size=3, unique_by=lambda t: t[0])
locations = st.one_of(
    st.sampled_from(catalog.runtime_regions(catalog.Runtime.RESPONSES)),
    st.sampled_from(catalog.azure_regions()),
    st.text(max_size=15),
)
runtimes = st.sampled_from(["responses", "agents", "inference"])


def _model_args(items: list[tuple[str, int | None]]) -> list[str]:
    return [name if cap is None else f"{name},capacity={cap}" for name, cap in items]


@settings(max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, runtime=runtimes, location=locations, items=models)
def test_valid_repo_or_one_clear_error_and_nothing_written(
    name: str, runtime: str, location: str, items: list[tuple[str, int | None]]
) -> None:
    parent = Path(tempfile.mkdtemp())
    try:
        try:
            spec = resolve_spec(name=name, runtime=runtime, location=location, models=_model_args(items))
            result = new(spec, parent / "repo")
        except ScaffolderError as exc:
            assert exc.message and "\n" not in exc.message
            assert exc.exit_code != 0
            assert list(parent.iterdir()) == []
            event(f"refused: {type(exc).__name__}")
            return
        event("generated")
        repo = parent / "repo"
        verdict = check(repo, offline_only=True)
        # The only findings allowed are retired/retiring models, and exactly those `new` warned about.
        others = [str(f) for f in verdict.findings if not f.rule.startswith("lifecycle/")]
        assert not others, others
        assert len(verdict.findings) == len(result.warnings)
        loaded, _ = load_answers(repo)
        assert loaded == spec
        params = json.loads((repo / "infra" / "main.parameters.json").read_text())["parameters"]
        assert sorted(d["name"] for d in params["modelDeployments"]["value"]) == sorted(m.name for m in spec.models)
        assert params["primaryModelDeployment"]["value"] == spec.primary.name
        assert all(1 <= d["capacity"] <= 100_000 for d in params["modelDeployments"]["value"])
        assert {a.path for a in result.actions} == {
            p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()
        }
    finally:
        shutil.rmtree(parent, ignore_errors=True)
