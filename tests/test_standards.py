"""Team standards: each field accepted and refused, errors with the line, overlays, hooks behind --trust."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder import infra
from scaffolder._new import new
from scaffolder.cli import app
from scaffolder.errors import OverlayError
from scaffolder.generate import plan_files
from scaffolder.generate._overlay import HookError, UntrustedOverlayError
from scaffolder.standards import StandardsError, discover, load
from tests.helpers import make_spec

BICEP = Path(__file__).resolve().parents[1] / "bicep"
FULL = """\
name: contoso platform
naming:
  pattern: "{abbr}ct-{project}-{env}-{region}-{token}"
  abbreviations: {account: "aif-", identity: "mi-"}
tags:
  cost-center: "1234"
  owner: null
regions:
  allowed: [swedencentral, eastus2]
models:
  allowed: [gpt-5.4-mini, gpt-5.4, Mistral-small-2503]
  skus: [GlobalStandard, DataZoneStandard]
  max_capacity: 50
network:
  required: ip-restricted
monitoring:
  required: true
  log_retention_days: 90
defaults:
  runtime: responses
  model: gpt-5.4
  location: swedencentral
"""
RESTRICTED = {"network": "ip-restricted", "allow_ips": ["20.1.2.3"], "hosting": "none"}


def write(tmp_path: Path, text: str, name: str = "standards.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def contoso(tmp_path: Path):
    return load(write(tmp_path, FULL))


def test_defaults_tags_naming_and_retention_flow_into_the_spec(contoso) -> None:
    spec = make_spec(None, location=None, tags={"owner": "alice"}, standards=contoso, **RESTRICTED)
    assert (spec.runtime.value, spec.location, spec.primary.model) == ("responses", "swedencentral", "gpt-5.4")
    assert spec.tags == {"cost-center": "1234", "owner": "alice"}
    assert spec.log_retention_days == 90
    assert spec.standards is not None and spec.standards.name == "contoso platform"
    params = infra.bicep_parameters(spec)
    assert params["tags"] == {"cost-center": "1234", "owner": "alice"}
    assert params["namingPattern"] == "{abbr}ct-{project}-{env}-{region}-"  # main.bicep appends the token
    assert params["abbreviations"]["account"] == "aif-" and params["abbreviations"]["logAnalytics"] == "log-"
    assert params["logRetentionInDays"] == 90
    names = infra.resource_names(spec, "dev", "swedencentral", "tok123")
    assert names["account"] == "aif-ct-demo-dev-swedencentral-tok123"
    assert names["identity"] == "mi-ct-demo-dev-swedencentral-tok123"


def test_long_names_keep_the_whole_token(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, 'naming:\n  pattern: "{abbr}ct-{project}-{env}-{region}-{token}"\n'))
    spec = make_spec("inference", name="customer-support-knowledge-assistant-01", location="germanywestcentral",
                     standards=loaded)
    token = "abcdefghijklm"
    names = infra.resource_names(spec, "production-east", "germanywestcentral", token)
    for kind, limit in infra.name_limits().items():
        assert names[kind].endswith(token) and len(names[kind]) <= limit, (kind, names[kind])
    assert names["account"] == "ct-customer-support-knowledge-assistant-01-productiabcdefghijklm"


@pytest.mark.parametrize(
    ("overrides", "rule", "allowed"),
    [
        ({"location": "uksouth"}, "regions.allowed", "allowed: swedencentral, eastus2"),
        ({"models": ["gpt-4o"]}, "models.allowed", "gpt-5.4-mini, gpt-5.4, Mistral-small-2503"),
        ({"models": ["gpt-5.4,sku=Standard"]}, "models.skus", "GlobalStandard, DataZoneStandard"),
        ({"models": ["gpt-5.4,capacity=80"]}, "models.max_capacity", "ceiling of 50"),
        ({"network": "public", "allow_ips": []}, "network.required", "require ip-restricted"),
        ({"monitoring": False}, "monitoring.required", "monitoring is required"),
        ({"tags": {}}, "tags", "tag 'owner' is required"),
    ],
)
def test_each_rule_refuses_and_names_the_allowed_values(contoso, overrides, rule: str, allowed: str) -> None:
    args = {"tags": {"owner": "alice"}, **RESTRICTED, **overrides}
    with pytest.raises(StandardsError) as err:
        make_spec("responses", standards=contoso, **args)
    assert f"[contoso platform: {rule}]" in err.value.message
    assert allowed in err.value.message
    assert err.value.hint and err.value.exit_code == 3


def test_several_violations_are_counted(contoso) -> None:
    with pytest.raises(StandardsError, match=r"\+2 more: network.required, tags"):
        make_spec("responses", standards=contoso, location="uksouth")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("regions:\n  allowed: [eastus2, atlantis]\n", ":2:", "unknown Azure region 'atlantis'"),
        ("naming:\n  pattern: \"{project}-x\"\n", ":2:", "must end with {token}"),
        ("naming:\n  pattern: \"{token}-{project}\"\n", ":2:", "must end with {token}"),
        ("naming:\n  pattern: \"{project}-{colour}-{token}\"\n", ":2:", "unknown token(s) {colour}"),
        ("naming:\n  abbreviations:\n    database: db\n", ":2:", "unknown resource kind 'database'"),
        ("network:\n  required: private-ish\n", ":2:", "network.required"),
        ("models:\n  max_capacity: 0\n", ":2:", "models.max_capacity"),
        ("monitoring:\n  log_retention_days: 5\n", ":2:", "log_retention_days"),
        ("security:\n  local_auth: enabled\n", ":2:", "security.local_auth"),
        ("colour: blue\n", ":1:", "colour"),
        ("defaults:\n  model: gpt4.1-mini\n", ":2:", "did you mean gpt-4.1-mini"),
        ("defaults:\n  location: mars\n", ":2:", "unknown Azure region 'mars'"),
        ("defaults:\n  location: uksouth\nregions:\n  allowed: [eastus2]\n", "standards.yml", "not in regions.allowed"),
        ("regions: [\n", "standards.yml line 2, column 1", "the file ends where a value is expected: a list '['"),
        ("- just\n- a list\n", "standards.yml", "mapping at the top level"),
    ],
)
def test_bad_file_gives_one_line_with_file_and_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(StandardsError) as err:
        load(write(tmp_path, text))
    assert where in err.value.message and message in err.value.message
    assert "\n" not in err.value.message


def test_toml_standards_and_line_numbers(tmp_path: Path) -> None:
    ok = load(write(tmp_path, 'name = "t"\n[regions]\nallowed = ["eastus2"]\n', "s.toml"))
    assert ok.standards.regions.allowed == ("eastus2",)
    with pytest.raises(StandardsError, match=r"s\.toml:3: models\.max_capacity"):
        load(write(tmp_path, 'name = "t"\n[models]\nmax_capacity = -1\n', "s.toml"))


def test_discovery_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    assert discover() is None
    user = isolated_env / ".config" / "foundry-scaffolder"
    user.mkdir(parents=True)
    (user / "standards.yml").write_text("name: user\n")
    assert discover() == user / "standards.yml"
    monkeypatch.setenv("SCAFFOLDER_STANDARDS", str(tmp_path / "env.yml"))
    assert discover() == tmp_path / "env.yml"
    assert discover(tmp_path / "flag.yml") == tmp_path / "flag.yml"


def test_every_resource_with_a_location_carries_tags() -> None:
    for path in BICEP.rglob("*.bicep"):
        for block in re.split(r"\nresource ", path.read_text())[1:]:
            body = block.split("\n}\n")[0]
            if "existing = {" in body or "\n  location:" not in body:
                continue
            assert "\n  tags:" in body, f"{path.name}: resource {block.split()[0]} has no tags"


def overlay_standards(tmp_path: Path, hook: str | None = None, extra: dict[str, str] | None = None):
    overlay = tmp_path / "overlay"
    (overlay / ".github").mkdir(parents=True)
    (overlay / ".github" / "CODEOWNERS.jinja").write_text("* @contoso/{{ cookiecutter.project_name }}-owners\n")
    (overlay / ".pre-commit-config.yaml").write_text("repos: []  # {{ not rendered }}\n")
    for rel, text in (extra or {}).items():
        (overlay / rel).parent.mkdir(parents=True, exist_ok=True)
        (overlay / rel).write_text(text)
    if hook is not None:
        (overlay / "_hooks").mkdir()
        (overlay / "_hooks" / "post_generate.py").write_text(hook)
    return load(write(tmp_path, "name: ovl\noverlays: [overlay]\n"))


def test_overlays_render_jinja_and_copy_the_rest(tmp_path: Path) -> None:
    loaded = overlay_standards(tmp_path)
    plan = plan_files(make_spec("agents", standards=loaded), loaded.overlay_dirs())
    assert plan.text(".github/CODEOWNERS") == "* @contoso/demo-owners\n"
    assert plan.text(".pre-commit-config.yaml") == "repos: []  # {{ not rendered }}\n"
    assert plan.get(".github/CODEOWNERS").source == "overlay"


def test_overlay_cannot_replace_infra(tmp_path: Path) -> None:
    loaded = overlay_standards(tmp_path, extra={"infra/main.bicep": "// mine\n"})
    with pytest.raises(OverlayError, match="generator owns"):
        plan_files(make_spec("agents", standards=loaded), loaded.overlay_dirs())


def test_overlay_sandbox_blocks_unsafe_jinja(tmp_path: Path) -> None:
    loaded = overlay_standards(tmp_path, extra={"x.txt.jinja": "{{ cookiecutter.__class__.__mro__ }}"})
    with pytest.raises(OverlayError):
        plan_files(make_spec("agents", standards=loaded), loaded.overlay_dirs())


def test_hooks_need_trust_and_nothing_is_written_without_it(tmp_path: Path) -> None:
    loaded = overlay_standards(tmp_path, hook="open('HOOKED', 'w').write('yes')\n")
    out = tmp_path / "out"
    with pytest.raises(UntrustedOverlayError, match="executable hooks") as err:
        new(make_spec("agents", standards=loaded), out / "demo", standards=loaded)
    assert err.value.exit_code == 4 and "--trust" in (err.value.hint or "")
    assert not out.exists()
    new(make_spec("agents", standards=loaded), out / "demo", standards=loaded, trust=True)
    assert (out / "demo" / "HOOKED").read_text() == "yes"
    assert (out / "demo" / ".github" / "CODEOWNERS").is_file()


def test_failing_hook_leaves_nothing(tmp_path: Path) -> None:
    loaded = overlay_standards(tmp_path, hook="import sys; sys.exit('policy says no')\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(HookError, match="policy says no"):
        new(make_spec("agents", standards=loaded), out / "demo", standards=loaded, trust=True)
    assert list(out.iterdir()) == []


def test_cli_refuses_and_applies_standards(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    runner = CliRunner()
    bad = runner.invoke(app, ["new", "demo", "--standards", str(path), "--no-input", "-o", str(tmp_path)])
    assert bad.exit_code == 3
    assert "network posture public is not allowed" in bad.stderr
    ok = runner.invoke(app, ["new", "demo", "--standards", str(path), "--no-input", "-o", str(tmp_path),
                             "--network", "ip-restricted", "--allow-ip", "20.1.2.3", "--tag", "owner=alice",
                             "--hosting", "none"])
    assert ok.exit_code == 0, ok.stderr
    params = json.loads((tmp_path / "demo" / "infra" / "main.parameters.json").read_text())["parameters"]
    assert params["tags"]["value"] == {"cost-center": "1234", "owner": "alice"}
    assert "contoso platform" in (tmp_path / "demo" / ".scaffolder.yml").read_text()


def test_cli_picks_up_env_standards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAFFOLDER_STANDARDS", str(write(tmp_path, "regions:\n  allowed: [eastus2]\n")))
    result = CliRunner().invoke(app, ["new", "demo", "-r", "inference", "-l", "westus", "--no-input",
                                      "-o", str(tmp_path)])
    assert result.exit_code == 3 and "region westus is not allowed" in result.stderr


def test_bad_tag_flag() -> None:
    result = CliRunner().invoke(app, ["new", "demo", "-r", "agents", "--tag", "novalue", "--no-input"])
    assert result.exit_code == 2 and "is not KEY=VALUE" in result.stderr


@pytest.mark.parametrize("segment", ["{{ '..' }}", "{{ '.' }}"])
def test_overlay_paths_cannot_leave_the_repo(tmp_path: Path, segment: str) -> None:
    loaded = overlay_standards(tmp_path, extra={f"{segment}/pwn.txt": "x"})
    with pytest.raises(OverlayError, match="leaves the generated repo"):
        new(make_spec("agents", standards=loaded), tmp_path / "out" / "demo", standards=loaded)
    assert not (tmp_path / "out" / "pwn.txt").exists() and not (tmp_path / "pwn.txt").exists()


def test_hosting_rule_refuses_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "standards.yml"
    path.write_text("hosting: {required: container-apps}\n", encoding="utf-8")
    loaded = load(path)
    assert make_spec(standards=loaded).hosting == "container-apps"
    with pytest.raises(StandardsError, match=r"hosting none is not allowed.*hosting.required"):
        make_spec(hosting="none", standards=loaded)
    path.write_text("hosting: {allowed: [none]}\n", encoding="utf-8")
    loaded = load(path)
    assert make_spec(standards=loaded).hosting == "none"  # the default follows what is allowed
    with pytest.raises(StandardsError, match=r"hosting\.allowed"):
        make_spec(hosting="container-apps", standards=loaded)
    path.write_text("hosting: {required: none, allowed: [container-apps]}\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"not in hosting\.allowed"):
        load(path)
