"""Fuzz/property suite over hostile input: CLI arguments, standards, decision and answers files, overlays, Bicep.

Every run asserts the CLI's promise: an exit code in the documented set, no traceback, nothing from outside
the target read into the output or written, and nothing left behind on failure. Bounded in time: the number
of examples per category is FUZZ_EXAMPLES (default 25; the closing note of issue 10 used 300).
"""

from __future__ import annotations

import json
import os
import shutil
import string
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffolder._new import new
from scaffolder.cli import app
from scaffolder.errors import SpecError
from scaffolder.provisioning.api import check_environment_name
from tests.helpers import make_spec

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# README: 1 other, 2 bad input, 3 standards, 4 untrusted hooks, 5 target exists, 9 tool missing (0: success).
DOCUMENTED = {0, 1, 2, 3, 4, 5, 9}
SENTINEL = "SENTINEL-outside-the-target-7f3a"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).write_text(json.dumps(dict(TRIED), indent=1))


def sandbox() -> tuple[tempfile.TemporaryDirectory[str], Path, Path]:
    """A scratch folder holding an outside 'secret' and an output parent."""
    holder = tempfile.TemporaryDirectory(prefix="fuzz-")
    root = Path(holder.name)
    (root / "outside").mkdir()
    (root / "outside" / "secret.txt").write_text(f"{SENTINEL}\n")
    (root / "outside" / "secret.bicep").write_text(f"param p string = '{SENTINEL}'\n{SENTINEL}\n")
    return holder, root, root / "out"


def snapshot(root: Path, skip: Path | None = None) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        if skip is not None and p.is_relative_to(skip):
            continue
        if p.is_file() and not p.is_symlink():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def invoke(category: str, *args: str) -> tuple[int, str]:
    TRIED[category] += 1
    started = time.monotonic()
    result = CliRunner().invoke(app, list(args))
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in output, output[-2000:]
    assert result.exit_code in DOCUMENTED, (result.exit_code, args, output[-500:])
    assert SENTINEL not in output, args
    assert time.monotonic() - started < 60, args
    if result.exit_code != 0:
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) <= 1, output
    return result.exit_code, output


def nothing_left(parent: Path, name: str) -> None:
    """A failed run leaves no target, no staging folder and no parent it created."""
    if parent.exists():
        assert not [p.name for p in parent.iterdir() if p.name.startswith((name, f".{name}."))], list(parent.iterdir())


# --- CLI arguments ----------------------------------------------------------------------------------------------

names = st.one_of(
    st.text(alphabet=string.ascii_lowercase + string.digits + "-_.\n\r\t /\\\0é", min_size=0, max_size=45),
    st.sampled_from(["demo\n", "typing", "json", "openai", "tests", "-demo", "demo-", "a", "x" * 41, "..", ".",
                     "con", "demo/../x", "ab", "class", "import"]),
)
flag_values = st.text(alphabet=string.printable + "é\0", max_size=40)


@FUZZ
@given(name=names, runtime=st.sampled_from(["responses", "agents", "inference", "bogus", ""]),
       location=st.one_of(st.none(), flag_values, st.sampled_from(["eastus2", "swedencentral", "westus"])),
       model=st.one_of(st.none(), flag_values, st.sampled_from(["gpt-5.4-mini", "gpt-5.4-mini,sku=x",
                                                                "Mistral-Large-2411", "x@1,format=Y"])),
       tag=st.one_of(st.none(), flag_values), allow_ip=st.one_of(st.none(), flag_values),
       capacity=st.one_of(st.none(), st.integers(-5, 10**7).map(str), flag_values))
def test_new_arguments(name: str, runtime: str, location: str | None, model: str | None, tag: str | None,
                       allow_ip: str | None, capacity: str | None) -> None:
    holder, root, out = sandbox()
    with holder:
        args = ["new", name, "--no-input", "-o", str(out)]
        for flag, value in (("-r", runtime), ("-l", location), ("-m", model), ("--tag", tag),
                            ("--allow-ip", allow_ip), ("--capacity", capacity)):
            if value:
                args += [flag, value]
        if allow_ip:
            args += ["--network", "ip-restricted", "--hosting", "none"]
        before = snapshot(root, skip=out)
        code, _ = invoke("cli-arguments", *args)
        assert snapshot(root, skip=out) == before
        if code != 0:
            assert not out.exists() or not any(out.iterdir())
        else:
            made = [p for p in out.iterdir()]
            assert len(made) == 1 and "\n" not in made[0].name and made[0].name == name


@FUZZ
@example(env="dev\n")
@example(env="dev\r")
@given(env=st.text(alphabet=string.ascii_letters + string.digits + "._()-\n\r\t /\\\0é", max_size=70))
def test_environment_names(env: str) -> None:
    TRIED["env-names"] += 1
    try:
        accepted = check_environment_name(env)
    except SpecError:
        return
    assert accepted == env and env.isprintable() and "/" not in env and ".." not in env and 1 <= len(env) <= 64


# --- standards files ----------------------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=30),
                    st.sampled_from(["eastus2", "gpt-5.4-mini", "ip-restricted", "{abbr}{project}-{token}"]))
json_values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                           st.dictionaries(st.text(max_size=12), kids, max_size=4)),
                           max_leaves=20)
standards_keys = st.sampled_from(["name", "naming", "tags", "regions", "models", "network", "security",
                                  "monitoring", "defaults", "overlays", "bogus"])
standards_docs = st.dictionaries(standards_keys, json_values, max_size=6)
hostile_yaml = st.sampled_from([
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e]\n",
    "[" * 20000, "{" * 5000 + "}" * 5000, "!!python/object/apply:os.system ['echo pwned']", "\0\0\0", "- - - -",
    "name: !!binary aGVsbG8=", "? [a]\n: b", "name: x\n" * 5, "%YAML 9.9\n---\nname: x", "\ufeffname: x",
    "tags: {a: *undefined}", "overlays: [/etc]", "overlays: ['../../..']", "overlays: ['outside']",
])


@FUZZ
@given(doc=st.one_of(standards_docs.map(lambda d: json.dumps(d)), hostile_yaml, st.text(max_size=300)),
       suffix=st.sampled_from([".yml", ".toml", ".json"]))
def test_standards_files(doc: str, suffix: str) -> None:
    holder, root, out = sandbox()
    with holder:
        path = root / f"standards{suffix}"
        path.write_text(doc, encoding="utf-8", errors="surrogatepass")
        (root / "outside_link").symlink_to(root / "outside", target_is_directory=True)
        code, _ = invoke("standards-files", "new", "demo", "-r", "responses", "--no-input", "--standards", str(path),
                         "-o", str(out))
        if code != 0:
            nothing_left(out, "demo")


# --- decision and answers files -----------------------------------------------------------------------------------

answer_docs = st.dictionaries(st.sampled_from(["state", "tools", "models", "connectors", "multi_agent", "answers",
                                               "x"]), json_values, max_size=5)


@FUZZ
@given(doc=st.one_of(answer_docs.map(json.dumps), hostile_yaml, st.text(max_size=300)))
def test_decision_files(doc: str) -> None:
    holder, root, out = sandbox()
    with holder:
        path = root / "decision.json"
        path.write_text(doc, encoding="utf-8", errors="surrogatepass")
        invoke("decision-files", "recommend", "--answers", str(path), "--json")
        code, _ = invoke("decision-files", "new", "demo", "--decision", str(path), "--no-input", "-o", str(out))
        if code != 0:
            nothing_left(out, "demo")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fuzz-pristine") / "demo"
    new(make_spec("responses"), target)
    return target


@FUZZ
@given(mutation=st.one_of(
    answer_docs.map(lambda d: json.dumps({"spec": d})), hostile_yaml, st.text(max_size=300),
    st.tuples(st.integers(0, 3000), st.integers(0, 50), st.text(max_size=20)),
))
def test_answers_files(pristine: Path, mutation: object) -> None:
    holder, root, _ = sandbox()
    with holder:
        repo = root / "repo"
        shutil.copytree(pristine, repo)
        answers = repo / ".scaffolder.yml"
        if isinstance(mutation, tuple):
            at, cut, insert = mutation
            text = answers.read_text()
            answers.write_text(text[:at] + insert + text[at + cut:], encoding="utf-8", errors="surrogatepass")
        else:
            answers.write_text(str(mutation), encoding="utf-8", errors="surrogatepass")
        before = snapshot(root)
        invoke("answers-files", "check", str(repo), "--offline")
        assert snapshot(root) == before


# --- overlays -----------------------------------------------------------------------------------------------------

jinja_bits = st.sampled_from([
    "{{ cookiecutter.project_name }}", "{{ 1/0 }}", "{{ 1 + 'a' }}", "{{ nope }}", "{% for i in range(10**7) %}x"
    "{% endfor %}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "{{ 'x' * 10**9 }}", "{{ 10 ** 99999999 }}",
    "{{ cookiecutter.__class__ }}", "{{ ''.__class__.__mro__ }}", "{%", "{{", "}}", "{% raw %}", "{{ range(5)|list }}",
    "{{ lipsum(1000) }}", "{{ cookiecutter|tojson }}", "{{ 'a'|center(10**9) }}", "plain text\n", "\0",
])
overlay_names = st.one_of(
    st.sampled_from(["README.md", "azure.yaml", "sub/azure.yml", "infra/x.bicep", ".scaffolder.yml", "notes.txt",
                     "team.txt.jinja", "{{ '..' }}/x", "{{ '/etc' }}/x", "{{ 'a\\x00b' }}", "{{ 'a\\nb' }}.txt",
                     "{{ '' }}/skip.txt", "_hooks/hook.sh", "{{ 1/0 }}.txt", "{{ 'x' * 5000 }}"]),
    st.text(alphabet=string.ascii_letters + "._-/", min_size=1, max_size=20).filter(
        lambda s: not s.startswith("/") and ".." not in s.split("/") and all(s.split("/"))),
)


@FUZZ
@given(files=st.dictionaries(overlay_names, st.lists(jinja_bits, max_size=4).map("".join), min_size=1, max_size=4),
       link=st.sampled_from([None, "file", "folder"]), trust=st.booleans(), dry=st.booleans())
def test_overlays(files: dict[str, str], link: str | None, trust: bool, dry: bool) -> None:
    holder, root, out = sandbox()
    with holder:
        overlay = root / "team" / "ovl"
        overlay.mkdir(parents=True)
        for rel, text in files.items():
            dest = overlay / rel
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(text, encoding="utf-8", errors="surrogatepass")
            except (OSError, ValueError):
                continue  # a name the file system itself refuses
        if link == "file":
            (overlay / "leak.txt").symlink_to(root / "outside" / "secret.txt")
        elif link == "folder":
            (overlay / "leakdir").symlink_to(root / "outside", target_is_directory=True)
        standards = root / "team" / "standards.yml"
        standards.write_text("name: fuzz\noverlays: [ovl]\n")
        before = snapshot(root, skip=out)
        flags = (["--trust"] if trust else []) + (["--dry-run"] if dry else [])
        code, _ = invoke("overlays", "new", "demo", "-r", "responses", "--no-input", "--standards", str(standards),
                         "-o", str(out), *flags)
        assert snapshot(root, skip=out) == before
        if code != 0 or dry:
            nothing_left(out, "demo")
            assert not out.exists()
        else:
            written = snapshot(out / "demo")
            assert all(SENTINEL.encode() not in data for data in written.values())
            assert sum(len(d) for d in written.values()) < 20_000_000


# --- Bicep inputs -------------------------------------------------------------------------------------------------

bicep_bits = st.sampled_from(["[", "]", "{", "}", "(", ")", "'", "${", "\n", "resource x 'a@b' = {", "module m '",
                              "../../outside/secret.bicep", "param", "var x = ", "output o string = ", "\0", "é",
                              "'\\u{110000}'", "/*", "*/", "@", "?", ":", "for i in range(0, 99999999): i"])


@FUZZ
@given(mutation=st.one_of(
    st.tuples(st.sampled_from(["main.bicep", "modules/foundry-account.bicep", "modules/role-assignments.bicep"]),
              st.integers(0, 6000), st.integers(0, 200), st.lists(bicep_bits, max_size=8).map("".join)),
    st.binary(max_size=3000), st.integers(1, 4000).map(lambda n: "var x = " + "[" * n + "1" + "]" * n),
    st.integers(1, 4000).map(lambda n: "var x = json('" + "[" * n + "]" * n + "')\noutput y array = x\n"),
    st.sampled_from(["link-module", "link-params", "deep-params", "link-infra"]),
))
def test_bicep_inputs(pristine: Path, mutation: object) -> None:
    holder, root, _ = sandbox()
    with holder:
        repo = root / "repo"
        shutil.copytree(pristine, repo)
        infra = repo / "infra"
        if isinstance(mutation, tuple):
            rel, at, cut, insert = mutation
            data = (infra / rel).read_bytes()
            (infra / rel).write_bytes(data[:at] + insert.encode("utf-8", "surrogatepass") + data[at + cut:])
        elif isinstance(mutation, bytes):
            (infra / "modules" / "fuzz.bicep").write_bytes(mutation)
        elif mutation == "link-module":
            (infra / "modules" / "leak.bicep").symlink_to(root / "outside" / "secret.bicep")
        elif mutation == "link-params":
            (infra / "main.parameters.json").unlink()
            (infra / "main.parameters.json").symlink_to(root / "outside" / "secret.txt")
        elif mutation == "deep-params":
            (infra / "main.parameters.json").write_text("[" * 200_000)
        elif mutation == "link-infra":
            shutil.rmtree(infra)
            infra.symlink_to(root / "outside", target_is_directory=True)
        else:
            (infra / "modules" / "deep.bicep").write_text(str(mutation))
        before = snapshot(root)
        code, _ = invoke("bicep-inputs", "check", str(repo), "--offline")
        assert code in {0, 1}
        assert snapshot(root) == before
