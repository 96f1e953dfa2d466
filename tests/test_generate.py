"""File planning and atomic writing: right files, nothing half-written, no user file clobbered silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scaffolder import generate
from scaffolder._new import new
from scaffolder.errors import TargetExistsError, TemplateError
from scaffolder.generate import plan_files
from tests.helpers import make_spec

BICEP = sorted(p.relative_to(Path(__file__).resolve().parents[1] / "bicep").as_posix()
               for p in (Path(__file__).resolve().parents[1] / "bicep").rglob("*.bicep"))


@pytest.mark.parametrize("runtime", ["responses", "agents", "inference"])
def test_plan_has_infra_azd_ci_and_answers(runtime: str) -> None:
    plan = plan_files(make_spec(runtime))
    paths = set(plan.paths())
    for required in [
        ".scaffolder.yml", "azure.yaml", "README.md", ".env.example", ".gitignore",
        ".github/workflows/ci.yml", "infra/main.parameters.json", "pyproject.toml",
    ]:
        assert required in paths
    assert {f"infra/{p}" for p in BICEP} <= paths


def test_bicep_is_copied_verbatim() -> None:
    plan = plan_files(make_spec("agents"))
    root = Path(__file__).resolve().parents[1] / "bicep"
    for rel in BICEP:
        assert plan.get(f"infra/{rel}").content == (root / rel).read_bytes()


def test_plan_is_pure_and_deterministic(tmp_path: Path) -> None:
    spec = make_spec("inference", models=["Mistral-Large-2411", "gpt-4.1"])
    first, second = plan_files(spec), plan_files(spec)
    assert first.files == second.files
    assert list(tmp_path.iterdir()) == []


def test_no_unrendered_jinja_left() -> None:
    for runtime in ("responses", "agents", "inference"):
        plan = plan_files(make_spec(runtime))
        for f in plan.files:
            if f.source != "template":
                continue
            text = f.content.decode()
            assert "{{ cookiecutter" not in text and "{%" not in text, f.path


def test_write_creates_target_atomically(tmp_path: Path) -> None:
    result = new(make_spec("responses"), tmp_path / "demo")
    assert {a.verb for a in result.actions} == {"create"}
    written = sorted(p.relative_to(tmp_path / "demo").as_posix() for p in (tmp_path / "demo").rglob("*") if p.is_file())
    assert written == sorted(a.path for a in result.actions)
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no staging directory left behind


def test_empty_existing_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    new(make_spec("responses"), tmp_path / "demo")
    assert (tmp_path / "demo" / "azure.yaml").is_file()


def test_non_empty_target_refused_without_force(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(TargetExistsError, match="is not empty") as err:
        new(make_spec("responses"), target)
    assert "--force" in (err.value.hint or "")
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_force_overwrites_only_what_differs_and_keeps_user_files(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    new(make_spec("responses"), target)
    (target / "README.md").write_text("edited by hand")
    (target / "notes.txt").write_text("mine")
    result = new(make_spec("responses"), target, force=True)
    verbs = {a.path: a.verb for a in result.actions}
    assert verbs["README.md"] == "overwrite"
    assert verbs["azure.yaml"] == "identical"
    assert (target / "notes.txt").read_text() == "mine"
    assert "edited by hand" not in (target / "README.md").read_text()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    result = new(make_spec("agents"), tmp_path / "demo", dry_run=True)
    assert result.dry_run and len(result.actions) > 10
    assert list(tmp_path.iterdir()) == []


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo").write_text("x")
    with pytest.raises(TargetExistsError, match="not a directory"):
        new(make_spec("responses"), tmp_path / "demo")


def test_render_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "templates" / "base" / "{{cookiecutter.project_name}}"
    broken.mkdir(parents=True)
    (broken / "ok.txt").write_text("{{ cookiecutter.project_name }}")
    (broken / "bad.txt").write_text("{{ cookiecutter.no_such_variable }}")
    monkeypatch.setattr("scaffolder.generate._plan.templates_dir", lambda: tmp_path / "templates")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(TemplateError, match=r"base/bad.txt.*no_such_variable"):
        new(make_spec("responses"), out / "demo")
    assert list(out.iterdir()) == []


def test_empty_path_segment_skips_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = tmp_path / "templates" / "base" / "{{cookiecutter.project_name}}"
    layer.mkdir(parents=True)
    (layer / "{% if cookiecutter.monitoring %}telemetry.txt{% endif %}").write_text("on")
    (layer / "always.txt").write_text("x")
    monkeypatch.setattr("scaffolder.generate._plan.templates_dir", lambda: tmp_path / "templates")
    with_mon = plan_files(make_spec("responses")).paths()
    without = plan_files(make_spec("responses", monitoring=False)).paths()
    assert "telemetry.txt" in with_mon and "telemetry.txt" not in without
    assert "always.txt" in without


def test_runtime_overlay_overrides_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for layer, text in [("base", "base"), ("agents", "agents")]:
        d = tmp_path / "templates" / layer / "{{cookiecutter.project_name}}"
        d.mkdir(parents=True)
        (d / "who.txt").write_text(text)
    monkeypatch.setattr("scaffolder.generate._plan.templates_dir", lambda: tmp_path / "templates")
    assert plan_files(make_spec("agents")).text("who.txt") == "agents"
    assert plan_files(make_spec("responses")).text("who.txt") == "base"


def test_parameters_file_carries_spec_and_azd_substitutions() -> None:
    spec = make_spec(
        "inference",
        models=["Mistral-Large-2411", "gpt-4.1,capacity=30"],
        principal_type="ServicePrincipal",
        location="swedencentral",
    )
    params = json.loads(plan_files(spec).text("infra/main.parameters.json"))["parameters"]
    assert params["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert params["location"]["value"] == "${AZURE_LOCATION=swedencentral}"
    assert params["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    assert params["principalType"]["value"] == "${AZURE_PRINCIPAL_TYPE=ServicePrincipal}"
    deployments = params["modelDeployments"]["value"]
    # partner models deploy last (a failing one stops the serial loop); the app still calls the first given
    assert [d["format"] for d in deployments] == ["OpenAI", "Mistral AI"]
    assert deployments[0]["capacity"] == 30
    assert params["primaryModelDeployment"]["value"] == "Mistral-Large-2411"
    # a partner model needs Cognitive Services User (OpenAI User covers OpenAI/* data actions only)
    assert params["appAccountRoles"]["value"] == ["cognitiveServicesUser"]


def test_generate_module_exports() -> None:
    assert callable(generate.plan_files) and callable(generate.write_plan)


def test_caches_in_template_trees_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip compiles the installed templates' .py files: the __pycache__ it leaves must not be rendered.
    layer = tmp_path / "templates" / "base" / "{{cookiecutter.project_name}}"
    (layer / "pkg" / "__pycache__").mkdir(parents=True)
    (layer / "pkg" / "mod.py").write_text("x = '{{ cookiecutter.project_name }}'\n")
    (layer / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\xa7\x0d\r\n\x00")
    (layer / ".DS_Store").write_bytes(b"\x00\x01")
    monkeypatch.setattr("scaffolder.generate._plan.templates_dir", lambda: tmp_path / "templates")
    paths = plan_files(make_spec("responses")).paths()
    assert "pkg/mod.py" in paths
    assert not any("__pycache__" in p or p.endswith(".DS_Store") for p in paths)


@pytest.mark.slow
def test_wheel_carries_templates_and_bicep_and_generates(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(repo)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("foundry_scaffolder-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "scaffolder/_data/bicep/main.bicep" in names
    assert any(n.startswith("scaffolder/_data/templates/base/") for n in names)
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # Run from the unpacked wheel (its own scaffolder package), not from the checkout.
    probe = (
        "import scaffolder, scaffolder._resources as r, pathlib\n"
        "assert '_data' in str(r.templates_dir()), r.templates_dir()\n"
        "from scaffolder._new import resolve_spec\n"
        "from scaffolder.generate import plan_files\n"
        "plan = plan_files(resolve_spec(name='demo', runtime='agents', location='eastus2'))\n"
        "assert 'infra/main.bicep' in plan.paths() and 'src/demo/agent.py' in plan.paths()\n"
        "print(scaffolder.__file__)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(unpacked)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(unpacked) in out.stdout


def test_force_refuses_a_file_where_a_directory_goes_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "README.md").write_text("mine")
    (target / "src").write_text("a file, not a directory")
    with pytest.raises(TargetExistsError, match="is a file where the generator needs a directory"):
        new(make_spec("responses"), target, force=True)
    assert (target / "README.md").read_text() == "mine"
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "src"]


def test_unusable_output_directory_is_one_error(tmp_path: Path) -> None:
    from scaffolder.errors import ScaffolderError

    (tmp_path / "afile").write_text("x")
    with pytest.raises(ScaffolderError, match="cannot create"):
        new(make_spec("responses"), tmp_path / "afile" / "demo")


def test_generated_repo_has_the_usual_permissions(tmp_path: Path) -> None:
    new(make_spec("responses"), tmp_path / "demo")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "demo").stat().st_mode & 0o777 == 0o777 & ~umask


def test_template_paths_cannot_leave_the_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = tmp_path / "templates" / "base" / "{{cookiecutter.project_name}}"
    (layer / "{{ '..' }}").mkdir(parents=True)
    (layer / "{{ '..' }}" / "escape.txt").write_text("x")
    monkeypatch.setattr("scaffolder.generate._plan.templates_dir", lambda: tmp_path / "templates")
    with pytest.raises(TemplateError, match="leaves the generated repo"):
        plan_files(make_spec("responses"))
