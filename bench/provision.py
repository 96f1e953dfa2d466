"""Provisioning speed against the ARM emulator with a fixed latency per long-running operation.

Prints, for one spec (agents runtime, N model deployments, monitoring on):
1. the wall time of `Provisioner.apply()` on an empty resource group, whole and its apply phase
   (first write to last write), next to
2. the dependency critical path: the longest chain of long-running operations in the plan
   (resource group -> account -> project -> deployment 1 -> ... -> deployment N, each LRO = latency), and
3. a one-at-a-time baseline: the same engine with one worker (every write waits for the previous one),
4. the number of write requests a re-run on the unchanged infrastructure sends.
Targets: apply phase <= 1.15x the critical path; re-run writes = 0.

Synchronous ARM calls (identity, components, role assignments, resource group) cost only the loopback
round trip here. Polling every 10 ms adds up to 10 ms per operation.

Run: python bench/provision.py [--latency 0.2] [--deployments 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scaffolder.provisioning.api import ArmOptions, Provisioner  # noqa: E402
from scaffolder.provisioning.arm import Arm, Connection  # noqa: E402
from scaffolder.provisioning.engine import Engine, Event, RetryPolicy  # noqa: E402
from scaffolder.provisioning.plan import ResourcePlan, Target, plan_from_bicep  # noqa: E402
from scaffolder.spec import ProjectSpec  # noqa: E402
from tests.emulator import ArmEmulator, FakeCredential, Offer  # noqa: E402
from tests.helpers import make_spec  # noqa: E402
from tests.provision.provkit import write_repo  # noqa: E402

LRO_TYPES = {
    "Microsoft.CognitiveServices/accounts",
    "Microsoft.CognitiveServices/accounts/projects",
    "Microsoft.CognitiveServices/accounts/deployments",
    "Microsoft.OperationalInsights/workspaces",
}
MODELS = ["gpt-5.4-mini", "gpt-5.4", "gpt-5.2", "gpt-5", "gpt-5.5"]
POLL = 0.01


def critical_path(plan: ResourcePlan, latency: float) -> float:
    """Longest path through the dependency graph, each long-running operation weighing `latency`."""
    finish: dict[str, float] = {}
    for res in plan.resources:
        start = max((finish[d] for d in res.depends_on), default=0.0)
        finish[res.key] = start + (latency if res.type in LRO_TYPES else 0.0)
    return max(finish.values())


def serial_sum(plan: ResourcePlan, latency: float) -> float:
    return sum(latency for r in plan.resources if r.type in LRO_TYPES)


def _emulator(tmp: Path, spec: ProjectSpec, latency: float) -> ArmEmulator:
    arm = ArmEmulator(lro_latency=latency).start(tmp)
    arm.directory.add(FakeCredential().object_id)
    for dep in spec.models:
        arm.offer(spec.location, Offer(dep.model, dep.version, dep.format, (dep.sku,)))
    return arm


def _provisioner(repo: Path, arm: ArmEmulator) -> Provisioner:
    options = ArmOptions(
        subscription_id=arm.subscription_id,
        resource_group="rg-bench",
        environment="bench",
        credential=FakeCredential(),
        arm_endpoint=arm.url,
        connection_verify=arm.ca_path,
        polling_interval=POLL,
        retry=RetryPolicy(base_delay=0.05),
    )
    return Provisioner(repo, options)


def run_parallel(spec: ProjectSpec, repo: Path, latency: float) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        arm = _emulator(Path(tmp), spec, latency)
        stamps: list[float] = []

        def on_event(event: Event) -> None:
            stamps.append(time.perf_counter())

        try:
            t0 = time.perf_counter()
            _provisioner(repo, arm).apply(on_event=on_event)
            whole = time.perf_counter() - t0
            apply_phase = max(stamps) - min(stamps)
            conflicts = sum(1 for _, _, status in arm.responses if status == 409)
            arm.reset_log()
            _provisioner(repo, arm).apply()
            rerun_writes = arm.writes()
        finally:
            arm.stop()
    return whole, apply_phase, rerun_writes, conflicts


def run_serial(spec: ProjectSpec, repo: Path, latency: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        arm = _emulator(Path(tmp), spec, latency)
        try:
            conn = Connection(
                FakeCredential(), arm.subscription_id, arm.url, connection_verify=arm.ca_path, polling_interval=POLL
            )
            target = Target(
                arm.subscription_id, "rg-bench", spec.location, "bench", FakeCredential().object_id
            )
            engine = Engine(plan_from_bicep(repo, target), Arm(conn), retry=RetryPolicy(base_delay=0.05), max_workers=1)
            changes = engine.survey()
            t0 = time.perf_counter()
            engine.apply(changes)
            return time.perf_counter() - t0
        finally:
            arm.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per long-running operation")
    parser.add_argument("--deployments", type=int, default=3, choices=range(1, len(MODELS) + 1))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    spec = make_spec("agents", models=MODELS[: args.deployments], capacity=10)
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_repo(Path(tmp) / "repo", spec)  # answers file + the generated infra/ it provisions
        plan = plan_from_bicep(repo, Target("s", "rg-bench", spec.location, "bench", "me"))
        cp = critical_path(plan, args.latency)
        wholes, applies, serials, rerun, conflicts = [], [], [], [], []
        for _ in range(args.runs):
            whole, apply_phase, writes, conflict = run_parallel(spec, repo, args.latency)
            wholes.append(whole)
            applies.append(apply_phase)
            rerun.append(writes)
            conflicts.append(conflict)
            serials.append(run_serial(spec, repo, args.latency))

    apply_med, whole_med, serial_med = (statistics.median(x) for x in (applies, wholes, serials))
    print(
        f"plan: {len(plan.resources)} resources, {args.deployments} deployments, "
        f"LRO latency {args.latency * 1000:.0f} ms"
    )
    print(f"dependency critical path (LROs only):   {cp:.3f} s")
    print(f"sum of LRO latencies (ideal serial):    {serial_sum(plan, args.latency):.3f} s")
    print(
        f"apply phase, parallel (median of {args.runs}):  {apply_med:.3f} s  = {apply_med / cp:.2f}x critical path"
        f"  (target <= 1.15x)"
    )
    print(f"whole apply() incl. reads/preflight:     {whole_med:.3f} s  = {whole_med / cp:.2f}x critical path")
    print(f"apply phase, one at a time (baseline):   {serial_med:.3f} s  = {serial_med / cp:.2f}x critical path")
    print(f"speed-up over one at a time:             {serial_med / apply_med:.2f}x")
    print(f"409 RequestConflict answers during apply: {max(conflicts)}")
    print(f"writes sent by a re-run on unchanged infra: {max(rerun)}  (target 0)")


if __name__ == "__main__":
    main()
