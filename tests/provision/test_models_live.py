"""The live model catalog against the ARM emulator: models.list merged with the shipped catalog, the user cache,
`new` and `check` using a fresh cache, and one clear line for each bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scaffolder.catalog import live
from scaffolder.cli import app
from scaffolder.provisioning import api
from tests.emulator import ArmEmulator, FakeCredential, Fault, Offer

NOV_29 = "1795910400"  # 2026-11-29
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
LOCATION = "eastus2"


@pytest.fixture
def region(arm: ArmEmulator) -> ArmEmulator:
    """eastus2 as Azure would list it after a change the shipped catalog has not seen yet."""
    arm.offer(LOCATION, Offer("gpt-5.4-mini", "2026-03-17", "OpenAI", ("GlobalStandard", "Standard")))
    # Retired in the region (inference ended 2026-11-20) while the shipped catalog still calls it current.
    arm.offer(LOCATION, Offer("Mistral-small-2503", "1", "Mistral AI", ("GlobalStandard",), lifecycle="Deprecated",
                              deprecation="2026-11-20T00:00:00Z"))
    # Listed by Azure, missing from the shipped catalog.
    arm.offer(LOCATION, Offer("Mistral-small-2609", "1", "Mistral AI", ("GlobalStandard",)))
    # Capabilities as Azure lists them: the same context window as the catalog for one, another for the other.
    arm.offer(LOCATION, Offer("Ministral-3B", "1", "Mistral AI", ("GlobalStandard",)))
    arm.offer(LOCATION, Offer("Phi-4-mini-instruct", "1", "Microsoft", ("GlobalStandard",)))
    arm.model_capabilities["Ministral-3B"] = {"chatCompletion": "true", "maxContextToken": "131072"}
    arm.model_capabilities["Phi-4-mini-instruct"] = {"maxContextToken": "65536", "maxOutputToken": "4096"}
    return arm


@pytest.fixture
def env(region: ArmEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SCAFFOLDER_ARM_ENDPOINT", region.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", region.ca_path)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", region.subscription_id)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOV_29)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(api, "default_credential", lambda authority, tenant_id: FakeCredential())
    return tmp_path / "xdg-cache"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_fetch_and_merge_marks_disagreements(region: ArmEmulator) -> None:
    snap = live.fetch(LOCATION, region.subscription_id, credential=FakeCredential(), arm_endpoint=region.url,
                      connection_verify=region.ca_path, now=NOW)
    assert {(m.name, m.version) for m in snap.models} == {
        ("gpt-5.4-mini", "2026-03-17"), ("Mistral-small-2503", "1"), ("Mistral-small-2609", "1"),
        ("Ministral-3B", "1"), ("Phi-4-mini-instruct", "1")}
    rows = {r.name: r for r in live.merge(snap, NOW.date())}
    assert (rows["gpt-5.4-mini"].agreement, rows["gpt-5.4-mini"].live) == ("both", "current")
    small = rows["Mistral-small-2503"]
    assert (small.agreement, small.shipped, small.live) == ("disagree", "current", "retired")
    assert "inference until 2026-11-20" in small.detail
    assert (rows["Mistral-small-2609"].agreement, rows["Mistral-small-2609"].shipped) == ("live only", "-")
    assert rows["Phi-4"].agreement == "shipped only" and rows["Phi-4"].detail == "not offered in eastus2"
    assert rows["Ministral-3B"].agreement == "both"
    phi = rows["Phi-4-mini-instruct"]
    assert (phi.agreement, phi.detail) == ("disagree", "context window: Azure 65536, catalog 131072")
    (call,) = [r for r in region.requests if r.path.endswith("/models")]
    assert call.method == "GET" and call.authorization


def test_cli_live_refresh_then_new_and_check_use_the_cache(env: Path, tmp_path: Path) -> None:
    result = run("models", "--live", "--location", LOCATION, "--refresh")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "DIFFERS" in lines["Mistral-small-2503"] and "Azure only" in lines["Mistral-small-2609"]
    assert "differs: Mistral-small-2503 1: Azure: Deprecated, inference until 2026-11-20" in result.stderr
    cache = env / "foundry-scaffolder" / "models" / f"{LOCATION}.json"
    assert f"saved to {cache}" in result.stderr
    assert json.loads(cache.read_text())["location"] == LOCATION

    refused = run("new", "bot", "-r", "inference", "-m", "Mistral-small-2503", "-m", "gpt-5.4-mini", "--no-input",
                  "-o", str(tmp_path))
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[0] == (
        "error: Mistral-small-2503 1 retired on 2026-11-20 per Azure's model list for eastus2 (2026-11-29)")
    assert not (tmp_path / "bot").exists()

    made = run("new", "bot", "-r", "inference", "-m", "Ministral-3B", "--no-input", "-o", str(tmp_path))
    assert made.exit_code == 0, made.output
    assert "note: model lifecycle from Azure's model list for eastus2 fetched 2026-11-29 (cache)" in made.stderr
    checked = run("check", str(tmp_path / "bot"), "--offline")
    assert "note: model lifecycle from Azure's model list for eastus2 fetched 2026-11-29 (cache)" in checked.stderr


def test_check_fails_a_repo_whose_model_retired_in_the_region(env: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    made = run("new", "bot", "-r", "inference", "-m", "Mistral-small-2503", "--no-input", "-o", str(tmp_path))
    assert made.exit_code == 0, made.output  # no cache yet: the shipped catalog calls it current
    assert "note: model lifecycle from the shipped catalog" in made.stderr
    assert run("check", str(tmp_path / "bot"), "--offline").exit_code == 0
    assert run("models", "--refresh", "--location", LOCATION).exit_code == 0  # --refresh implies --live
    checked = run("check", str(tmp_path / "bot"), "--offline", "--json")
    assert checked.exit_code == 1
    doc = json.loads(checked.stdout)
    (finding,) = [f for f in doc["findings"] if f["rule"].startswith("lifecycle/")]
    assert finding["rule"] == "lifecycle/retired" and finding["severity"] == "error"
    # A cache older than 7 days is ignored: the shipped catalog answers again.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOV_29) + 8 * 86400))
    assert run("check", str(tmp_path / "bot"), "--offline").exit_code == 0


@pytest.mark.parametrize("args,code,line", [
    (["--location", "moonbase1"], 2, "error: unknown Azure region 'moonbase1'"),
    (["--location", "eastus 2"], 0, ""),  # typed as the portal shows it: normalised
    ([], 2, "error: --live/--refresh needs --location"),
])
def test_cli_bad_input_is_one_line(env: Path, args: list[str], code: int, line: str) -> None:
    result = run("models", "--live", *args)
    assert result.exit_code == code, result.output
    if line:
        assert result.stderr.splitlines()[0].startswith(line)
        assert "Traceback" not in result.output


def test_no_credentials_is_one_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class NoCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token\nmore detail")

    monkeypatch.setattr(api, "default_credential", lambda authority, tenant_id: NoCredential())
    result = run("models", "--live", "--location", LOCATION)
    assert result.exit_code == 8
    assert result.stderr.splitlines()[0] == (
        "error: no Azure credential available: DefaultAzureCredential failed to retrieve a token")
    assert run("models").exit_code == 0, "the shipped catalog still answers"


def test_arm_error_is_one_line(env: Path, region: ArmEmulator) -> None:
    region.inject(Fault("GET", "/models", status=403, code="AuthorizationFailed",
                        message="The client does not have authorization to perform action"))
    result = run("models", "--live", "--location", LOCATION)
    assert result.exit_code == 6
    assert result.stderr.splitlines()[0] == (
        "error: Azure refused the model list for eastus2: AuthorizationFailed: The client does not have "
        "authorization to perform action")


def test_no_subscription_is_one_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    result = run("models", "--live", "--location", LOCATION)
    assert result.exit_code == 2 and result.stderr.startswith("error: no subscription given")


def test_cache_round_trip_and_freshness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    snap = live.Snapshot(LOCATION, NOW, (live.LiveModel("x", "1", "Meta", "Deprecated", dt.date(2027, 1, 2),
                                                        ("GlobalStandard",), {"chatCompletion": "true"}),))
    path = live.save(snap)
    assert path == tmp_path / "foundry-scaffolder" / "models" / "eastus2.json"
    assert live.load(LOCATION) == snap
    assert live.fresh(LOCATION, dt.date(2026, 12, 6)) == snap
    assert live.fresh(LOCATION, dt.date(2026, 12, 7)) is None
    path.write_text("{not json")
    assert live.load(LOCATION) is None


# -- review fixes: the pinned clock, a real credential chain, hostile caches, --runtime/--wide ----------------


def test_refresh_stamps_the_pinned_day_so_new_uses_the_cache_on_an_earlier_pinned_day(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pinned day long before the real one: a wall-clock stamp would be "in the future" and silently ignored.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOV_29) - 30 * 86400))  # 2026-10-30
    assert run("models", "--live", "--refresh", "--location", LOCATION).exit_code == 0
    assert live.load(LOCATION) is not None and live.load(LOCATION).fetched.date() == dt.date(2026, 10, 30)  # type: ignore[union-attr]
    result = run("new", "demo", "-r", "inference", "-m", "Mistral-small-2503", "-l", LOCATION, "--no-input",
                 "--dry-run", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output  # region retires it on 2026-11-20: retiring, not refused yet
    assert "Azure's model list for eastus2 fetched 2026-10-30 (cache)" in result.stderr


def test_a_cache_from_the_future_is_ignored_with_a_note(env: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("models", "--live", "--refresh", "--location", LOCATION).exit_code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOV_29) - 86400))
    result = run("new", "demo", "-r", "inference", "-m", "Mistral-small-2503", "-l", LOCATION, "--no-input",
                 "--dry-run", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "fetched 2026-11-29, after today (2026-11-28), ignored" in result.stderr


def test_real_credential_chain_without_credentials_is_one_line(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    from azure.identity import DefaultAzureCredential

    # An empty environment and no CLI on PATH: every credential of the real chain is unavailable.
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(api, "default_credential",
                        lambda authority, tenant_id: DefaultAzureCredential(authority=authority,
                                                                            exclude_managed_identity_credential=True))
    import logging

    # As in a fresh process: no handler anywhere (pytest's capture handler on the root logger would hide
    # Python's last-resort stderr handler, which is what prints azure-identity's chain in a real run).
    monkeypatch.setattr(logging.getLogger("azure"), "handlers", [])
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    result = run("models", "--live", "--location", LOCATION)
    assert result.exit_code == 8, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert errors[0].startswith("error: no Azure credential available:")
    assert len(errors) == 2 and errors[1].startswith("hint:"), result.stderr  # no credential-chain dump


@pytest.mark.parametrize("kind", ["deep", "wrong-location", "symlink", "fifo", "huge"])
def test_hostile_cache_is_ignored_with_a_note(env: Path, tmp_path: Path, kind: str) -> None:
    import os

    path = live.cache_path(LOCATION)
    path.parent.mkdir(parents=True)
    if kind == "deep":
        path.write_text("[" * 100_000)
    elif kind == "wrong-location":
        snap = live.Snapshot("westus", NOW, (live.LiveModel("Mistral-small-2503", "1", "Mistral AI", "Deprecated",
                                                            dt.date(2026, 11, 1)),))
        path.write_text(snap.to_json())
    elif kind == "symlink":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        with path.open("wb") as f:
            f.truncate(live.MAX_CACHE_BYTES + 1)
    snap, why = live.fresh_or_why(LOCATION, dt.date(2026, 11, 29))
    assert snap is None and why is not None and why.endswith("ignored")
    result = run("new", "demo", "-r", "inference", "-m", "Mistral-small-2503", "-l", LOCATION, "--no-input",
                 "--dry-run", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "ignored" in result.stderr and "Traceback" not in result.output


def test_live_honours_runtime_and_rejects_wide(env: Path) -> None:
    result = run("models", "--live", "--location", LOCATION, "--runtime", "agents", "--json")
    assert result.exit_code == 0, result.output
    names = {m["name"] for m in json.loads(result.stdout)["models"]}
    assert "gpt-5.4-mini" in names and "Mistral-small-2503" not in names and "Mistral-small-2609" not in names
    wide = run("models", "--live", "--location", LOCATION, "--wide")
    assert wide.exit_code == 2 and wide.stderr.startswith("error: --wide is for the shipped catalog")
    assert run("models", "--refresh").stderr.startswith("error: --live/--refresh needs --location")


def test_new_writes_quota_usage_names_from_the_cache_into_azd_location_metadata(
        env: Path, region: ArmEmulator, tmp_path: Path) -> None:
    # Azure's usage name is not always OpenAI.<sku>.<model> (Azure/azure-dev#8563): the cache's is the one written.
    region.offers[LOCATION][0] = Offer("gpt-5.4-mini", "2026-03-17", "OpenAI", ("GlobalStandard", "Standard"),
                                       usage_names={"GlobalStandard": "OpenAI.GlobalStandard.gpt54-mini"})
    assert run("models", "--live", "--location", LOCATION, "--refresh").exit_code == 0
    made = run("new", "bot", "-r", "inference", "-m", "gpt-5.4-mini,capacity=30", "-m", "Ministral-3B",
               "--no-input", "-o", str(tmp_path))
    assert made.exit_code == 0, made.output
    bicep = (tmp_path / "bot" / "infra" / "main.bicep").read_text()
    assert ("    type: 'location'\n    usageName: [\n      'OpenAI.GlobalStandard.gpt54-mini,30'\n"
            "      'OpenAI.GlobalStandard.Ministral-3B,1'\n    ]\n") in bicep
    answers = (tmp_path / "bot" / ".scaffolder.yml").read_text()
    assert answers.count("quota_usage: OpenAI.GlobalStandard.gpt54-mini") == 1
    # Recorded in the spec: check regenerates the same main.bicep with or without the cache.
    (env / "foundry-scaffolder" / "models" / f"{LOCATION}.json").unlink()
    checked = run("check", str(tmp_path / "bot"), "--offline")
    assert checked.exit_code == 0 and "drift/" not in checked.output, checked.output


def test_without_a_cache_main_bicep_has_no_usage_names_and_new_says_so(env: Path, tmp_path: Path) -> None:
    from scaffolder._resources import bicep_dir

    made = run("new", "bot", "-r", "responses", "--no-input", "-o", str(tmp_path))
    assert made.exit_code == 0, made.output
    assert (f"note: azd's location prompt will not check model quota: no fresh model list for {LOCATION} is cached "
            f"(`scaffolder models --live --location {LOCATION} --refresh`, then `scaffolder update`, adds it)"
            ) in " ".join(made.stderr.split())
    assert (tmp_path / "bot" / "infra" / "main.bicep").read_bytes() == (bicep_dir() / "main.bicep").read_bytes()
    assert "quota_usage" not in (tmp_path / "bot" / ".scaffolder.yml").read_text()


def test_a_usage_name_that_could_break_the_bicep_literal_is_not_written(env: Path, region: ArmEmulator,
                                                                       tmp_path: Path) -> None:
    region.offers[LOCATION][0] = Offer("gpt-5.4-mini", "2026-03-17", "OpenAI", ("GlobalStandard",),
                                       usage_names={"GlobalStandard": "x'\n}) param evil string = '"})
    assert run("models", "--live", "--location", LOCATION, "--refresh").exit_code == 0
    made = run("new", "bot", "-r", "responses", "--no-input", "-o", str(tmp_path))
    assert made.exit_code == 0, made.output
    assert "will not check quota for gpt-5.4-mini 2026-03-17 (GlobalStandard)" in " ".join(made.stderr.split())
    assert "usageName" not in (tmp_path / "bot" / "infra" / "main.bicep").read_text()


def test_update_fills_a_missing_usage_name_once_a_region_list_is_cached(env: Path, tmp_path: Path) -> None:
    assert run("new", "bot", "-r", "responses", "--no-input", "-o", str(tmp_path)).exit_code == 0
    assert run("models", "--live", "--location", LOCATION, "--refresh").exit_code == 0
    updated = run("update", str(tmp_path / "bot"))
    assert updated.exit_code == 0, updated.output
    assert "'OpenAI.GlobalStandard.gpt-5.4-mini,10'" in (tmp_path / "bot" / "infra" / "main.bicep").read_text()
