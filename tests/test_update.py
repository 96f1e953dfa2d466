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
from scaffolder.errors import (
    AnswersFileError,
    BaseUnavailableError,
    CatalogError,
    DirtyTreeError,
    StandardsError,
    TemplateError,
)
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
    # Until the markers are resolved, update and --check say so and exit 1 (not "up to date", 0).
    for args in ([], ["--check"], ["--check", "--json"]):
        again = runner.invoke(app, ["update", str(repo), *args])
        assert again.exit_code == 1, args
        assert "unresolved conflicts" in again.stderr and "src/demo/settings.py" in again.stderr
    # Resolved (the markers removed): the update is complete.
    resolved = [line for line in text.splitlines(keepends=True)
                if not line.startswith(("<<<<<<<", "|||||||", "=======", ">>>>>>>"))]
    settings_py.write_text("".join(resolved))
    assert runner.invoke(app, ["update", str(repo), "--check"]).exit_code in (0, 2)


def test_deleted_file_stays_deleted_and_edited_leftover_is_kept(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    (repo / "docs" / "conversation-state.md").unlink()  # deleted by the user, and no longer generated
    (repo / "src" / "demo" / "settings.py").unlink()  # deleted by the user, still generated, changed by the switch
    store = repo / "src" / "demo" / "state" / "store.py"
    store.write_text(store.read_text() + "\n# kept on purpose\n")
    result = update(repo, {"runtime": "responses"})
    actions = {c.path: c.action for c in result.changes}
    assert not (repo / "src" / "demo" / "settings.py").exists()
    # The switch really changes that file (so this exercises kept-deleted, not "unchanged").
    fresh = plan_files(resolve_spec(name="demo", runtime="responses", location="eastus2"))
    inference_plan = plan_files(resolve_spec(name="demo", runtime="inference", location="eastus2"))
    assert fresh.text("src/demo/settings.py") != inference_plan.text("src/demo/settings.py")
    assert actions["src/demo/settings.py"] == "kept-deleted"
    assert store.is_file() and actions["src/demo/state/store.py"] == "kept-edited"
    assert not (repo / "src" / "demo" / "state" / "loop.py").exists()
    assert actions["src/demo/state/loop.py"] == "delete"


@st.composite
def user_edit(draw: st.DrawFn, files: list[str], texts: dict[str, list[str]]) -> tuple[str, int, str]:
    """An inserted line of a unique token, or (line "") the deletion of the line at `where`."""
    path = draw(st.sampled_from(files))
    where = draw(st.integers(min_value=0, max_value=len(texts[path])))
    if texts[path] and where < len(texts[path]) and draw(st.booleans()):
        return path, where, ""
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


def _overrides(target: str) -> dict[str, object]:
    return {"runtime": target} if target != "inference" else {"tags": {"team": "ai"}}


@pytest.mark.parametrize("engine", ["git", "library"])
def test_random_user_edits_survive_an_update(inference_repo: Path, engine: str) -> None:
    texts = _text_files(inference_repo)
    files = sorted(texts)
    theirs: dict[str, dict[str, bytes]] = {}
    for target in RUNTIMES:  # what an update of the unedited repo gives: the files the user never touched
        with tempfile.TemporaryDirectory() as tmp:
            reference = Path(tmp) / "demo"
            shutil.copytree(inference_repo, reference)
            update(reference, _overrides(target))
            theirs[target] = snapshot(reference)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(user_edit(files, texts), min_size=1, max_size=3, unique_by=lambda e: e[0]),
           target=st.sampled_from(list(RUNTIMES)))
    def run(edits: list[tuple[str, int, str]], target: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "demo"
            shutil.copytree(inference_repo, repo)
            edited: dict[str, bytes] = {}
            for path, where, line in edits:
                lines = list(texts[path])
                if line:
                    lines.insert(where, line + "\n")
                else:
                    del lines[where]
                (repo / path).write_text("".join(lines))
                edited[path] = "".join(lines).encode()
            result = update(repo, _overrides(target), merge_engine=engine)  # type: ignore[arg-type]
            conflicts = set(result.conflicts)
            after = snapshot(repo)
            for path, _, line in edits:
                assert path in after, (path, result.changes)  # an edited file is never removed
                text = after[path].decode()
                if line:
                    assert line in text, (path, result.changes)
                if path not in conflicts:
                    assert "<<<<<<<" not in text
                if (texts[path] and path in theirs[target]
                        and theirs[target][path] == "".join(texts[path]).encode()):
                    assert after[path] == edited[path]  # the update did not touch it: the user's text as is
            assert not (conflicts - set(edited))  # only files the user touched can conflict
            # Every file the user did not touch is exactly what the update of the unedited repo gives.
            for rel in set(after) | set(theirs[target]):
                if rel in edited or rel in (ANSWERS_FILE, PRISTINE_FILE):
                    continue
                assert after.get(rel) == theirs[target].get(rel), rel

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
    assert doc["counts"]["update"] == sum(c["action"] == "update" for c in doc["changes"]) >= 1
    assert "diff" not in doc  # a bot's check gets paths and counts, not the whole diff
    assert "team" not in (repo / "infra/main.parameters.json").read_text()
    with_diff = json.loads(runner.invoke(app, ["update", str(repo), "--check", "--json", "--diff", "--tag",
                                               "team=ai"]).stdout)
    assert "+++ b/infra/main.parameters.json" in with_diff["diff"]
    plain = runner.invoke(app, ["update", str(repo), "--check", "--tag", "team=ai"])
    assert plain.exit_code == 2 and "+++ b/" not in plain.stdout
    assert "+++ b/" in runner.invoke(app, ["update", str(repo), "--check", "--diff", "--tag", "team=ai"]).stdout


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


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_linked_parent_folder_is_never_read_written_or_deleted_through(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    outside = tmp_path / "outside"
    (repo / "src" / "demo").rename(outside)
    (repo / "src" / "demo").symlink_to(outside, target_is_directory=True)
    before = _tree(outside)
    assert any(k.startswith("state/") for k in before)
    result = update(repo, {"runtime": "responses"})
    assert _tree(outside) == before  # nothing written, deleted or created outside the repo
    actions = {c.path: c.action for c in result.changes}
    assert actions["src/demo/chat.py"] == "kept-edited"
    assert all(a == "kept-edited" for p, a in actions.items() if p.startswith("src/demo/"))


def test_new_force_refuses_to_write_through_a_linked_folder(tmp_path: Path) -> None:
    from scaffolder.errors import TargetExistsError

    repo = generate(tmp_path, "inference")
    outside = tmp_path / "outside"
    (repo / "infra").rename(outside)
    (repo / "infra").symlink_to(outside, target_is_directory=True)
    for f in outside.rglob("*.bicep"):
        f.write_text("// mine\n")
    before = _tree(outside)
    spec, _ = load_answers(repo)
    with pytest.raises(TargetExistsError, match="symbolic link"):
        new(spec, repo, force=True)
    assert _tree(outside) == before


@pytest.mark.parametrize("after", [0, 1, 4, 8, 12])
def test_interrupted_update_is_finished_by_running_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    from scaffolder.errors import UpdateInterrupted

    reference = generate(tmp_path / "a", "inference")
    done = update(reference, {"runtime": "responses"})
    # The shared writer keeps the overwritten files beside the repo: the update says where.
    kept = [n for n in done.notes if "this update replaced are kept in" in n]
    assert kept and any(p.name.startswith(".demo.scaffolder-backup-") and p.name in kept[0]
                        for p in (tmp_path / "a").iterdir())
    repo = generate(tmp_path / "b", "inference")
    original = Path.replace
    count = [0]

    def interrupting_replace(self: Path, target: Path) -> Path:  # Ctrl-C after `after` atomic replaces
        count[0] += 1
        if count[0] == after + 1:  # one Ctrl-C; the writer's own rollback may then move files back
            raise KeyboardInterrupt
        return original(self, target)

    monkeypatch.setattr(Path, "replace", interrupting_replace)
    with pytest.raises(UpdateInterrupted, match="interrupted") as caught:
        update(repo, {"runtime": "responses"})
    assert "run the same" in (caught.value.hint or "")
    monkeypatch.setattr(Path, "replace", original)
    spec, _ = load_answers(repo)
    assert spec.runtime.value == "inference"  # the answers file still records the old generation
    update(repo, {"runtime": "responses"})
    assert snapshot(repo) == snapshot(reference)
    assert not update(repo).update_available


def test_archive_listing_extra_paths_never_deletes_user_files_or_git(tmp_path: Path) -> None:
    import gzip
    import io
    import tarfile

    repo = generate(tmp_path, "inference")
    commit_all(repo)
    (repo / "notes.md").write_text("my secret notes\n")
    head = (repo / ".git" / "HEAD").read_bytes()
    archive = repo / PRISTINE_FILE
    buf = io.BytesIO()
    with (tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as src,
          gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as z, tarfile.open(fileobj=z, mode="w") as out):
        for m in src.getmembers():
            out.addfile(m, src.extractfile(m))
        for name, data in [("notes.md", b"my secret notes\n"), (".git/HEAD", head)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    archive.write_bytes(buf.getvalue())
    commit_all(repo)
    result = update(repo)
    assert (repo / "notes.md").read_text() == "my secret notes\n"
    assert (repo / ".git" / "HEAD").read_bytes() == head
    assert not any(c.action == "delete" for c in result.changes)
    assert any("never writes" in n and ".git/HEAD" in n for n in result.notes)


def test_crlf_working_copies_merge_without_conflicts_and_keep_crlf(tmp_path: Path) -> None:
    repo = generate(tmp_path, "inference")
    readme = repo / "README.md"
    title, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{title}\nOur addition.\n{rest}")
    names = ["README.md", ".env.example", "src/demo/settings.py", "pyproject.toml"]
    for name in names:
        path = repo / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    result = update(repo, {"runtime": "responses"})
    assert not result.conflicts
    actions = {c.path: c.action for c in result.changes}
    assert actions["README.md"] == "merge"
    fresh = generate(tmp_path / "fresh", "responses")
    for name in names:
        data = (repo / name).read_bytes()
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b""), name  # CRLF kept, no mix
        if name != "README.md":
            assert data.replace(b"\r\n", b"\n") == (fresh / name).read_bytes(), name
    assert b"\r\nOur addition.\r\n" in readme.read_bytes()


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


def test_edit_made_before_the_first_commit_of_an_old_repo_is_flagged_for_review(tmp_path: Path) -> None:
    repo = _fixture_copy(tmp_path / "demo")
    with (repo / "README.md").open("a") as readme:
        readme.write("MY EDIT BEFORE FIRST COMMIT\n")
    commit_all(repo)
    result = update(repo)
    assert result.base_source.startswith("git commit")
    actions = {c.path: c.action for c in result.changes}
    assert actions["README.md"] == "update" and "README.md" in result.review
    assert "README.md" in result.as_dict()["review"]
    assert any(n.startswith("review ") and "README.md" in n for n in result.notes)
    # A repo with a pristine archive has an exact base: nothing to review.
    fresh = generate(tmp_path / "fresh", "inference")
    assert update(fresh, {"runtime": "responses"}).review == ()


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


def test_gzip_bomb_archive_stops_decompressing_at_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    from scaffolder.generate import _plan

    monkeypatch.setattr(_plan, "PRISTINE_MAX_TAR_BYTES", 2**20)
    bomb = gzip.compress(b"\0" * (8 * 2**20), mtime=0)  # 8 MiB of zeros in ~8 KiB
    reads: list[int] = []
    original = gzip.GzipFile.read

    def counting_read(self: gzip.GzipFile, size: int = -1) -> bytes:
        data = original(self, size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", counting_read)
    with pytest.raises(TemplateError, match="decompresses to more than 1 MiB"):
        unpack_pristine(bomb)
    assert sum(reads) <= 2**20 + 1  # never inflated past the bound
    repo = generate(tmp_path, "responses")
    (repo / PRISTINE_FILE).write_bytes(bomb)
    with pytest.raises(BaseUnavailableError, match="damaged"):
        update(repo)


def test_executable_bit_change_in_the_generator_reaches_the_repo(tmp_path: Path) -> None:
    import io
    import tarfile

    from scaffolder.generate._plan import pack_pristine

    repo = generate(tmp_path, "inference")
    target = "README.md"
    # Pretend the previous generation wrote README.md executable (and the repo has it so): this version's
    # plain file must then arrive as a mode-only update.
    base = unpack_pristine((repo / PRISTINE_FILE).read_bytes())
    from scaffolder.generate import PlannedFile

    base[target] = PlannedFile(base[target].path, base[target].content, 0o755)
    (repo / PRISTINE_FILE).write_bytes(pack_pristine(base.values()))
    (repo / target).chmod(0o755)
    with tarfile.open(fileobj=io.BytesIO((repo / PRISTINE_FILE).read_bytes()), mode="r:gz") as tar:
        assert tar.getmember(target).mode & 0o111
    result = update(repo)
    assert {c.path: c.action for c in result.changes}.get(target) == "update"
    assert (repo / target).stat().st_mode & 0o111 == 0
    assert not update(repo).update_available
    # A bit the user set themselves (the base has it plain) is theirs: kept.
    (repo / target).chmod(0o755)
    assert not update(repo).update_available and (repo / target).stat().st_mode & 0o111


def test_merge_scratch_folder_is_in_the_system_temp_dir_not_beside_the_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaffolder import _update

    repo = generate(tmp_path / "parent", "inference")
    (repo / ".env.example").write_text("# mine\n" + (repo / ".env.example").read_text())
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    seen: list[Path] = []
    original = _update.merge_text

    def recording(*args: object, **kwargs: object) -> tuple[bytes, int]:
        scratch = args[5]
        assert isinstance(scratch, Path)
        seen.append(scratch)
        assert sorted(p.name for p in repo.parent.iterdir()) == ["demo"]  # nothing beside the repo
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_update, "merge_text", recording)
    update(repo, {"runtime": "responses"})
    assert seen and all(p.parent == system_tmp for p in seen)
    assert list(system_tmp.iterdir()) == []  # removed afterwards
