"""`scaffolder update`: three-way merge of a generated repo; user edits survive, overlaps conflict, switches move."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffolder import __version__
from scaffolder._new import new, resolve_spec
from scaffolder._update import merge_text, recorded_options, update
from scaffolder.checks import check
from scaffolder.cli import app
from scaffolder.errors import AnswersFileError, BaseUnavailableError, CatalogError, DirtyTreeError, StandardsError
from scaffolder.generate import plan_files, with_pristine
from scaffolder.generate._plan import PRISTINE_FILE, unpack_pristine
from scaffolder.spec import ANSWERS_FILE, load_answers, migrate_answers

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0" / "demo"
RUNTIMES = ("responses", "agents", "inference")
SWITCHES = [(a, b) for a in RUNTIMES for b in RUNTIMES if a != b]
EPOCH = "1767225600"  # 2026-01-01


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def generate(parent: Path, runtime: str, name: str = "demo", **options: object) -> Path:
    spec = resolve_spec(name=name, runtime=runtime, location="eastus2", **options)  # type: ignore[arg-type]
    new(spec, parent / name)
    return parent / name


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and ".git" not in p.relative_to(root).parts}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(root)})
    return done.stdout


def commit_all(root: Path) -> None:
    if not (root / ".git").exists():
        git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "state")


# --- the plain cases ---------------------------------------------------------------------------------------------


def test_unchanged_repo_is_up_to_date_and_update_writes_nothing(tmp_path: Path) -> None:
    repo = generate(tmp_path, "responses")
    before = snapshot(repo)
    result = update(repo)
    assert not result.update_available and result.changes == ()
    assert snapshot(repo) == before
    assert result.base_source.startswith(PRISTINE_FILE)


def test_pristine_archive_holds_exactly_the_generated_files(tmp_path: Path) -> None:
    repo = generate(tmp_path, "agents")
    pristine = unpack_pristine((repo / PRISTINE_FILE).read_bytes())
    on_disk = {k: v for k, v in snapshot(repo).items() if k not in (ANSWERS_FILE, PRISTINE_FILE)}
    assert {k: f.content for k, f in pristine.items()} == on_disk
    # Reproducible: the same spec gives the same archive bytes.
    spec, _ = load_answers(repo)
    assert with_pristine(plan_files(spec)).get(PRISTINE_FILE).content == (repo / PRISTINE_FILE).read_bytes()


@pytest.mark.parametrize(("before", "after"), SWITCHES)
def test_each_runtime_switch_equals_a_fresh_repo_of_the_new_runtime_plus_the_adr(
    tmp_path: Path, before: str, after: str
) -> None:
    repo = generate(tmp_path / "a", before)
    result = update(repo, {"runtime": after})
    assert not result.conflicts
    fresh = snapshot(generate(tmp_path / "b", after))
    switched = snapshot(repo)
    adr = f"docs/adr/0002-runtime-switch-to-{after}.md"
    assert set(switched) == set(fresh) | {adr}
    differ = sorted(k for k in fresh if fresh[k] != switched[k])
    assert differ == sorted([ANSWERS_FILE, PRISTINE_FILE, "docs/adr/0001-runtime-choice.md"])
    first = switched["docs/adr/0001-runtime-choice.md"].decode()
    assert f"Status: superseded by [0002-runtime-switch-to-{after}.md]" in first
    assert f"(`{before}`)" in first  # the first record still describes the first choice
    record = switched[adr].decode()
    assert "Status: accepted" in record and "Supersedes: [0001-runtime-choice.md]" in record
    spec, _ = load_answers(repo)
    assert spec.runtime.value == after and spec.decision.switched_from is not None
    assert spec.superseded[0].runtime.value == before
    for change in spec.decision.changes:
        assert change in record  # the ADR says what changes ...
        assert change in result.notes  # ... and so does the command's output
    assert check(repo, offline_only=True).ok, check(repo, offline_only=True).findings


def test_leaving_inference_says_stored_conversations_do_not_move(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    result = runner.invoke(app, ["update", str(repo), "--runtime", "agents"])
    assert result.exit_code == 0, result.stderr
    assert "stored conversations do not move to the service" in result.stderr
    assert "stored conversations do not move" in (repo / "docs/adr/0002-runtime-switch-to-agents.md").read_text()
    # agents reads another endpoint and needs other roles: both are said
    assert "now read: AZURE_AI_PROJECT_ENDPOINT" in result.stderr
    assert "Foundry User" in result.stderr


def test_update_hosting_none_drops_the_container_app_and_keeps_it_recorded(tmp_path: Path) -> None:
    repo = generate(tmp_path, "responses")
    assert (repo / "Dockerfile").is_file()
    result = runner.invoke(app, ["update", str(repo), "--hosting", "none"])
    assert result.exit_code == 0, result.stderr
    assert not (repo / "Dockerfile").exists()
    assert "host: containerapp" not in (repo / "azure.yaml").read_text()
    assert "hosting: none" in (repo / ".scaffolder.yml").read_text()
    # The recorded choice is kept by a later plain update.
    assert not update(repo).update_available


def test_switching_back_and_forth_keeps_a_chain_of_records(tmp_path: Path) -> None:
    repo = generate(tmp_path, "responses")
    update(repo, {"runtime": "inference"})
    update(repo, {"runtime": "responses"})
    adr = sorted(p.name for p in (repo / "docs" / "adr").iterdir())
    assert adr == ["0001-runtime-choice.md", "0002-runtime-switch-to-inference.md",
                   "0003-runtime-switch-to-responses.md"]
    assert "superseded by [0003" in (repo / "docs/adr/0002-runtime-switch-to-inference.md").read_text()
    assert not update(repo).update_available


def test_update_twice_changes_nothing(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nOur notes.\n")
    first = update(repo, {"runtime": "responses", "tags": {"team": "ai"}})
    assert first.update_available
    after_first = snapshot(repo)
    second = update(repo, {"runtime": "responses", "tags": {"team": "ai"}})
    assert not second.update_available and snapshot(repo) == after_first
    assert not update(repo).update_available


# --- user edits --------------------------------------------------------------------------------------------------


def test_done_when_scenario_edits_to_tools_and_readme_survive_the_switch(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    tools = repo / "src" / "demo" / "tools.py"
    tools.write_text(tools.read_text().replace('"Current date and time in a time zone."',
                                               '"Current date and time in any IANA time zone."'))
    readme = repo / "README.md"
    readme.write_text("Our team's intro.\n\n" + readme.read_text())
    result = runner.invoke(app, ["update", str(repo), "--runtime", "responses"])
    assert result.exit_code == 0, result.stderr
    assert "any IANA time zone" in tools.read_text()
    text = readme.read_text()
    assert text.startswith("Our team's intro.") and "<<<<<<<" not in text
    assert (repo / "src/demo/store.py").is_file() and not (repo / "src/demo/state").exists()
    assert (repo / "docs/adr/0002-runtime-switch-to-responses.md").is_file()


def test_overlapping_edit_is_a_conflict_with_diff3_markers_and_exit_1(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    settings_py = repo / "src" / "demo" / "settings.py"
    lines = settings_py.read_text().splitlines(keepends=True)
    fresh = plan_files(resolve_spec(name="demo", runtime="responses", location="eastus2"))
    changed = next(i for i, line in enumerate(lines) if line not in fresh.text("src/demo/settings.py"))
    lines[changed] = lines[changed].rstrip("\n") + "  # ours\n"
    settings_py.write_text("".join(lines))
    result = runner.invoke(app, ["update", str(repo), "--runtime", "responses"])
    assert result.exit_code == 1
    assert "conflict(s): src/demo/settings.py" in result.stderr
    assert result.stderr.count("hint:") == 1
    text = settings_py.read_text()
    for marker in ("<<<<<<< yours (demo)", f"||||||| generated by foundry-scaffolder {__version__}", "=======",
                   f">>>>>>> generated by foundry-scaffolder {__version__}"):
        assert marker in text
    assert "# ours" in text


def test_deleted_file_stays_deleted_and_edited_leftover_is_kept(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    (repo / "docs" / "conversation-state.md").unlink()  # deleted by the user, and no longer generated
    (repo / "tests" / "test_chat.py").unlink()  # deleted by the user, still generated and changed by the switch
    store = repo / "src" / "demo" / "state" / "store.py"
    store.write_text(store.read_text() + "\n# kept on purpose\n")
    result = update(repo, {"runtime": "responses"})
    actions = {c.path: c.action for c in result.changes}
    assert not (repo / "tests" / "test_chat.py").exists()
    assert actions.get("tests/test_chat.py") in ("kept-deleted", None)
    assert store.is_file() and actions["src/demo/state/store.py"] == "kept-edited"
    assert not (repo / "src" / "demo" / "state" / "loop.py").exists()
    assert actions["src/demo/state/loop.py"] == "delete"


@st.composite
def user_edit(draw: st.DrawFn, files: list[str], texts: dict[str, list[str]]) -> tuple[str, int, str]:
    path = draw(st.sampled_from(files))
    where = draw(st.integers(min_value=0, max_value=len(texts[path])))
    token = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=12))
    return path, where, f"user-edit-{token}"


@pytest.fixture(scope="module")
def inference_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        return generate(tmp_path_factory.mktemp("prop"), "inference")


def _text_files(root: Path) -> dict[str, list[str]]:
    out = {}
    for rel, data in snapshot(root).items():
        if rel in (ANSWERS_FILE, PRISTINE_FILE):
            continue
        out[rel] = data.decode("utf-8").splitlines(keepends=True)
    return out


@pytest.mark.parametrize("engine", ["git", "library"])
def test_random_user_edits_survive_an_update(inference_repo: Path, engine: str) -> None:
    texts = _text_files(inference_repo)
    files = sorted(texts)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(user_edit(files, texts), min_size=1, max_size=3, unique_by=lambda e: e[0]),
           target=st.sampled_from(["responses", "agents", "inference"]))
    def run(edits: list[tuple[str, int, str]], target: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "demo"
            shutil.copytree(inference_repo, repo)
            for path, where, line in edits:
                lines = list(texts[path])
                lines.insert(where, line + "\n")
                (repo / path).write_text("".join(lines))
            overrides = {"runtime": target} if target != "inference" else {"tags": {"team": "ai"}}
            result = update(repo, overrides, merge_engine=engine)  # type: ignore[arg-type]
            conflicts = set(result.conflicts)
            for path, _, line in edits:
                text = (repo / path).read_text()
                assert line in text, (path, result.changes)
                if path not in conflicts:
                    assert "<<<<<<<" not in text
            assert not (conflicts - {p for p, _, _ in edits})  # only files the user touched can conflict

    run()


def test_git_and_library_engines_merge_alike(tmp_path: Path) -> None:
    base = b"a\nb\nc\nd\ne\n"
    ours = b"a\nB-ours\nc\nd\ne\nextra\n"
    theirs = b"A\nB-theirs\nc\nd\nE\n"
    labels = ("yours", "old", "new")
    by_git = merge_text(ours, base, theirs, labels, "git", tmp_path)
    by_lib = merge_text(ours, base, theirs, labels, "library", tmp_path)
    assert by_git == by_lib
    assert by_git[1] == 2 and b"||||||| old\na\nb\n=======" in by_git[0]
    clean = merge_text(b"a\nb\nc\nd\ne\nmine\n", base, b"A\nb\nc\nd\ne\n", labels, "library", tmp_path)
    assert clean == (b"A\nb\nc\nd\ne\nmine\n", 0)


# --- safety ------------------------------------------------------------------------------------------------------


def test_dirty_git_tree_is_refused_unless_allowed(tmp_path: Path) -> None:
    repo = generate(tmp_path, "responses")
    commit_all(repo)
    (repo / "notes.txt").write_text("uncommitted\n")
    with pytest.raises(DirtyTreeError, match=r"notes\.txt"):
        update(repo, {"runtime": "inference"})
    result = runner.invoke(app, ["update", str(repo), "--runtime", "inference"])
    assert result.exit_code == 1 and "--allow-dirty" in result.stderr
    assert not (repo / "src/demo/state").exists()
    assert update(repo, {"runtime": "inference"}, allow_dirty=True).update_available
    assert (repo / "src/demo/state").is_dir() and (repo / "notes.txt").read_text() == "uncommitted\n"


def test_dry_run_shows_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    repo = generate(tmp_path, "responses")
    before = snapshot(repo)
    result = runner.invoke(app, ["update", str(repo), "--runtime", "inference", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "+++ b/src/demo/state/store.py" in result.stdout and "--- a/src/demo/store.py" in result.stdout
    assert snapshot(repo) == before


def test_check_exit_codes_and_json(tmp_path: Path) -> None:
    repo = generate(tmp_path, "responses")
    up_to_date = runner.invoke(app, ["update", str(repo), "--check"])
    assert up_to_date.exit_code == 0, up_to_date.stderr
    available = runner.invoke(app, ["update", str(repo), "--check", "--json", "--tag", "team=ai"])
    assert available.exit_code == 2
    doc = json.loads(available.stdout)
    assert doc["update_available"] is True
    assert {"path": "infra/main.parameters.json", "action": "update"} in doc["changes"]
    assert "team" not in (repo / "infra/main.parameters.json").read_text()


def test_incompatible_model_is_refused_naming_replacements_before_writing(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference", models=["Mistral-Large-2411"])
    before = snapshot(repo)
    with pytest.raises(CatalogError) as caught:
        update(repo, {"runtime": "responses"})
    assert "Mistral-Large-2411" in caught.value.message and "gpt-5.4-mini" in caught.value.message
    assert "--model" in (caught.value.hint or "")
    assert snapshot(repo) == before
    ok = update(repo, {"runtime": "responses", "models": ["gpt-5.4-mini"]})
    assert ok.spec.primary.model == "gpt-5.4-mini" and not ok.conflicts


def test_retired_model_is_replaced_through_the_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = generate(tmp_path, "responses", models=["gpt-4o@2024-11-20"])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1794700800")  # 2026-11-15: gpt-4o 2024-11-20 retired 2026-10-01
    from scaffolder import catalog
    from scaffolder.spec import today

    status = catalog.models()["gpt-4o"].status("2024-11-20", today())
    assert status.state == "retired" and status.replacement
    result = update(repo)
    spec, _ = load_answers(repo)
    assert spec.primary.model == status.replacement and spec.primary.name == status.replacement
    assert any(f"becomes {status.replacement}" in n for n in result.notes)
    assert f'"{status.replacement}"' in (repo / "infra/main.parameters.json").read_text()


def test_standards_file_is_pulled_through_the_merge(tmp_path: Path) -> None:
    from scaffolder.standards import load

    repo = generate(tmp_path, "responses", tags={"owner": "me"})
    rules = tmp_path / "standards.yml"
    rules.write_text("name: contoso\ntags: {cost-center: '1234'}\n"
                     "monitoring: {required: true, log_retention_days: 90}\n")
    update(repo, standards=load(rules))
    params = json.loads((repo / "infra/main.parameters.json").read_text())["parameters"]
    flat = json.dumps(params)
    assert '"cost-center": "1234"' in flat and '"owner": "me"' in flat and "90" in flat
    spec, _ = load_answers(repo)
    assert spec.standards is not None and spec.standards.name == "contoso"
    with pytest.raises(StandardsError, match="contoso"):
        update(repo)  # the standards it was generated under are not in force: asked for, not guessed
    assert not update(repo, standards=load(rules)).update_available


def test_user_symlink_where_a_file_is_generated_is_left_alone(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    outside = tmp_path / "elsewhere.md"
    outside.write_text("mine\n")
    (repo / "README.md").unlink()
    (repo / "README.md").symlink_to(outside)
    result = update(repo, {"runtime": "responses"})
    assert (repo / "README.md").is_symlink() and outside.read_text() == "mine\n"
    assert {"path": "README.md", "action": "kept-edited"} in result.as_dict()["changes"]


# --- older repos and the answers file ---------------------------------------------------------------------------


def _fixture_copy(dest: Path) -> Path:
    for src in FIXTURE.rglob("*.snap"):
        out = dest / src.relative_to(FIXTURE).as_posix().removesuffix(".snap")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(src.read_bytes())
    return dest


def test_repo_of_the_previous_release_updates_cleanly_from_its_generation_commit(tmp_path: Path) -> None:
    repo = _fixture_copy(tmp_path / "demo")
    assert "version: 0.1.0" in (repo / ANSWERS_FILE).read_text() and not (repo / PRISTINE_FILE).exists()
    commit_all(repo)  # the generation commit
    readme = repo / "README.md"
    title, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{title}\nOur addition.\n{rest}")
    commit_all(repo)
    result = update(repo)
    assert result.base_source.startswith("git commit") and not result.conflicts
    actions = {c.path: c.action for c in result.changes}
    assert actions["docs/adr/0001-runtime-choice.md"] == "update"  # this release's template change arrived
    assert (repo / ".github/workflows/scaffolder-update.yml").is_file()
    assert "\nOur addition.\n" in readme.read_text() and "<<<<<<<" not in readme.read_text()
    doc = yaml.safe_load((repo / ANSWERS_FILE).read_text())
    assert doc["schema"] == 2 and doc["version"] == __version__
    assert any("migrated from schema 1 to 2" in n for n in result.notes)
    # Now the repo is what this release generates, plus the user's line.
    fresh = snapshot(generate(tmp_path / "fresh", "inference"))
    mine = snapshot(repo)
    assert sorted(k for k in set(fresh) | set(mine) if fresh.get(k) != mine.get(k)) == ["README.md"]
    assert not update(repo, allow_dirty=True).update_available


def test_repo_of_the_previous_release_without_git_says_what_is_missing(tmp_path: Path) -> None:
    repo = _fixture_copy(tmp_path / "demo")
    with pytest.raises(BaseUnavailableError, match=r"0\.1\.0"):
        update(repo)


def test_answers_schema_migration_and_newer_schema_refused() -> None:
    assert migrate_answers({"version": "0.1.0", "spec": {}})["schema"] == 2
    with pytest.raises(AnswersFileError, match="newer"):
        migrate_answers({"schema": 99, "version": "9.0", "spec": {}})


def test_every_new_option_is_kept_by_update() -> None:
    """resolve_spec's parameters all map to the recorded spec, so an option added to `new` (--hosting, --tool)
    is preserved by `update` without wiring when it is named like its ProjectSpec field."""
    import inspect

    from scaffolder._update import _FROM_SPEC, _NOT_FROM_SPEC
    from scaffolder.spec import ProjectSpec

    spec = resolve_spec(name="demo", runtime="responses", location="eastus2")
    options = recorded_options(spec)
    for name in inspect.signature(resolve_spec).parameters:
        assert name in _NOT_FROM_SPEC or name in _FROM_SPEC or name in ProjectSpec.model_fields, (
            f"resolve_spec({name}=...) is not read back from the spec: map it in scaffolder/_update.py _FROM_SPEC"
        )
    assert resolve_spec(**options) == spec


def test_archive_compressed_differently_but_same_files_is_not_rewritten(tmp_path: Path) -> None:
    import gzip

    repo = generate(tmp_path, "responses")
    archive = repo / PRISTINE_FILE
    recompressed = gzip.compress(gzip.decompress(archive.read_bytes()), compresslevel=9, mtime=0)
    archive.write_bytes(recompressed)
    assert not update(repo).update_available
    assert archive.read_bytes() == recompressed


def test_damaged_or_oversized_archive_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffolder.generate import _plan

    repo = generate(tmp_path, "responses")
    limit = _plan.PRISTINE_MAX_BYTES
    monkeypatch.setattr(_plan, "PRISTINE_MAX_BYTES", 1000)
    with pytest.raises(BaseUnavailableError, match="damaged"):
        update(repo)
    monkeypatch.setattr(_plan, "PRISTINE_MAX_BYTES", limit)
    (repo / PRISTINE_FILE).write_bytes(b"not a gzip")
    result = runner.invoke(app, ["update", str(repo)])
    assert result.exit_code == 1 and "damaged" in result.stderr and "git checkout" in result.stderr
