"""Real faults against the emulator: dropped connections at each phase, malformed bodies, huge Retry-After,
the overall deadline and Ctrl-C while an operation is pending. Each ends in one clear error or a success,
and a re-run afterwards converges with zero writes and no duplicate resource.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scaffolder.cli import app
from scaffolder.errors import ProvisionError, ProvisionInterrupted
from scaffolder.provisioning import api
from scaffolder.provisioning.faults import Control, RetryPolicy, with_retries
from tests.emulator import ArmEmulator, Fault
from tests.provision.provkit import ENV, RG, Sleeps, destroy, preflight, provision

TESTS = Path(__file__).resolve().parents[1]


def _puts(arm: ArmEmulator) -> Counter[str]:
    return Counter(p.lower() for m, p, _ in arm.responses if m == "PUT")


def _converged(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    """A re-run finds everything in place: no write, and every resource exists once."""
    arm.reset_log()
    result = provision(repo, **kw)
    assert {c.action for c in result.changes} == {"unchanged"}
    assert arm.writes() == 0, arm.methods()
    assignments = arm.of_type("Microsoft.Authorization/roleAssignments")
    grants = Counter(
        (a["properties"]["scope"].lower(), a["properties"]["principalId"], a["properties"]["roleDefinitionId"])
        for a in assignments
    )
    assert max(grants.values()) == 1, "a role granted twice"


# Where a connection can drop: a survey read, a preflight read, a write before ARM saw it, a write whose
# answer was lost after ARM did it, and an operation poll.
RESETS = {
    "survey-get": Fault("GET", "/resourceGroups/rg-demo$", kind="reset"),
    "preflight-get": Fault("GET", "/locations/eastus2/models", kind="reset"),
    "put-before": Fault("PUT", "/providers/Microsoft.ManagedIdentity/", kind="reset"),
    "put-answer-lost": Fault("PUT", "/deployments/gpt-5.4-mini$", kind="reset-after"),
    "operation-poll": Fault("GET", "/operations/", kind="reset"),
}


@pytest.mark.parametrize("phase", sorted(RESETS))
def test_a_dropped_connection_is_retried_at_every_phase(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps, phase: str
) -> None:
    fault = arm.inject(Fault(**{**RESETS[phase].__dict__, "hits": 0}))
    result = provision(repo, **kw)
    assert result.applied and fault.hits == 1
    assert sleeps.calls, "retried after a pause"
    # No duplicate write: a retry after a dropped write or poll first reads what ARM already has, so every
    # resource was written (and answered) once.
    assert set(_puts(arm).values()) == {1}
    _converged(arm, repo, kw)


def test_a_connection_that_keeps_dropping_is_one_error_then_a_rerun_finishes(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    arm.inject(Fault("PUT", "/providers/Microsoft.ManagedIdentity/", kind="reset", times=99))
    with pytest.raises(ProvisionError) as err:
        provision(repo, **kw)
    assert err.value.code == "ConnectionError"
    assert "after 4 tries" in err.value.message and "\n" not in err.value.message
    assert "re-run" in (err.value.hint or "")
    arm.faults.clear()
    provision(repo, **kw)
    _converged(arm, repo, kw)


def test_preflight_and_destroy_survive_a_dropped_connection(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    arm.inject(Fault("GET", "/providers/Microsoft.Authorization/permissions", kind="reset"))
    assert preflight(repo, **kw).ok
    arm.inject(Fault("DELETE", "/deployments/gpt-5.4", kind="reset"))
    result = destroy(repo, purge=True, **kw)
    assert result.applied and result.resource_group_deleted
    assert not arm.resources


def test_a_malformed_body_is_retried_then_reported(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    once = arm.inject(Fault("GET", "/providers/Microsoft.ManagedIdentity/", kind="malformed"))
    arm.reset_log()
    provision(repo, **kw)
    assert once.hits == 1 and arm.writes() == 0
    arm.inject(Fault("GET", "/providers/Microsoft.ManagedIdentity/", kind="malformed", times=99))
    with pytest.raises(ProvisionError) as err:
        provision(repo, **kw)
    assert err.value.code == "MalformedResponse" and "not JSON" in err.value.message
    arm.faults.clear()
    _converged(arm, repo, kw)


def test_a_huge_retry_after_is_capped(arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps) -> None:
    arm.inject(Fault("PUT", "/providers/Microsoft.ManagedIdentity/", 429, "TooManyRequests", retry_after="864000"))
    provision(repo, **kw)
    assert max(sleeps.calls) == RetryPolicy().max_delay == 60.0


def test_the_deadline_stops_a_pending_operation_then_a_rerun_finishes(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    arm.lro_latency = 30.0  # every long-running operation stays pending far longer than the deadline
    started = time.monotonic()
    with pytest.raises(ProvisionError) as err:
        provision(repo, timeout=1.5, **{**kw, "polling_interval": 0.05})
    assert time.monotonic() - started < 10
    assert err.value.code == "DeadlineExceeded" and "1.5 s" in err.value.message
    assert "re-run" in (err.value.hint or "")
    arm.lro_latency = 0.0
    provision(repo, **kw)
    _converged(arm, repo, kw)


def test_backoff_is_shown_as_progress() -> None:
    seen: list[tuple[str, float]] = []
    calls = iter([ConnectionResetError("reset by peer"), {"ok": True}])

    def call() -> Any:
        from azure.core.exceptions import ServiceResponseError

        item = next(calls)
        if isinstance(item, Exception):
            raise ServiceResponseError("Connection aborted.", error=item)
        return item

    control = Control(on_wait=lambda what, seconds: seen.append((what, seconds)))
    assert with_retries(call, RetryPolicy(base_delay=0.01), "reading x", control) == {"ok": True}
    assert seen == [("reading x (try 2 of 6 after ConnectionError)", 0.01)]


def test_ctrl_c_while_an_operation_is_pending_exits_at_once(arm: ArmEmulator, repo: Path, tmp_path: Path) -> None:
    """A real SIGINT to `scaffolder provision` in a child process while ARM is still working."""
    arm.lro_latency = 60.0
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(TESTS)!r})
            from tests.emulator import FakeCredential
            from scaffolder.provisioning import api
            api.default_credential = lambda authority, tenant: FakeCredential()
            from scaffolder.cli import main
            sys.argv = ["scaffolder", "provision", {str(repo)!r}, "-g", {RG!r}, "--env", {ENV!r}, "--yes"]
            main()
            """
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "SCAFFOLDER_ARM_ENDPOINT": arm.url,
        "REQUESTS_CA_BUNDLE": arm.ca_path,
        "AZURE_SUBSCRIPTION_ID": arm.subscription_id,
        "SCAFFOLDER_POLL_INTERVAL": "0.05",
    }
    # SIGINT may be ignored by whoever launched the suite (a shell's background job) and children inherit that.
    child = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not any(m == "PUT" and "/accounts/" in p for m, p, _ in arm.responses):
            assert child.poll() is None and time.monotonic() < deadline, "no write started"
            time.sleep(0.05)
        time.sleep(0.3)  # the account's operation is now pending
        child.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        _, stderr = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
    assert time.monotonic() - stopped < 5, "the first Ctrl-C must end the run promptly"
    assert child.returncode == 130, stderr
    assert "stopped by user" in stderr and "re-run the same command" in stderr
    assert "Traceback" not in stderr
    arm.lro_latency = 0.0
    kw = {
        "subscription_id": arm.subscription_id,
        "resource_group": RG,
        "environment": ENV,
        "credential": __import__("tests.emulator", fromlist=["FakeCredential"]).FakeCredential(),
        "arm_endpoint": arm.url,
        "connection_verify": arm.ca_path,
        "polling_interval": 0,
        "retry": RetryPolicy(attempts=4, base_delay=0.0, sleep=Sleeps()),
    }
    provision(repo, **kw)
    _converged(arm, repo, kw)


def test_interrupt_while_backing_off_says_what_was_kept(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    arm.inject(Fault("PUT", "/providers/Microsoft.ManagedIdentity/", 503, "ServiceUnavailable"))
    # The group is written first; the identity's write fails once and the user presses Ctrl-C during the pause.
    kept = r"stopped by user: [1-9]\d* of 15 resource writes finished and are kept"
    with pytest.raises(ProvisionInterrupted, match=kept):
        provision(repo, **{**kw, "retry": RetryPolicy(attempts=2, sleep=interrupt)}, skip_preflight=True)
    provision(repo, **kw)
    _converged(arm, repo, kw)


def _cli(arm: ArmEmulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from tests.emulator import FakeCredential

    monkeypatch.setenv("SCAFFOLDER_ARM_ENDPOINT", arm.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", arm.ca_path)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", arm.subscription_id)
    monkeypatch.setenv("SCAFFOLDER_POLL_INTERVAL", "0")
    monkeypatch.setattr(api, "default_credential", lambda authority, tenant: FakeCredential())
    return ["--resource-group", RG, "--env", ENV]


def test_provision_json_prints_no_connection_string(
    arm: ArmEmulator, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _cli(arm, monkeypatch)
    result = CliRunner().invoke(app, ["provision", str(repo), *args, "--yes", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert "InstrumentationKey" not in result.stdout
    assert doc["outputs_withheld"] == ["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    env_file = (repo / ".azure" / ENV / ".env").read_text(encoding="utf-8")
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING=\"InstrumentationKey=" in env_file  # azd's file keeps it


def test_an_unexpected_exception_is_one_line_without_debug(
    arm: ArmEmulator, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _cli(arm, monkeypatch)

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("something nobody classified\nsecond line")

    monkeypatch.setattr(api.Provisioner, "apply", boom)
    result = CliRunner().invoke(app, ["provision", str(repo), *args, "--yes"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "error: unexpected RuntimeError: something nobody classified"
    assert "Traceback" not in result.output and "--debug" in result.stderr


def test_timeout_must_be_positive(arm: ArmEmulator, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _cli(arm, monkeypatch)
    result = CliRunner().invoke(app, ["provision", str(repo), *args, "--timeout", "0"])
    assert result.exit_code == 2 and "--timeout" in result.stderr
