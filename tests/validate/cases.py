"""Shared data for the validation tests: the 12-combo matrix, defect injection, fixture expectations."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffolder._new import resolve_spec
from scaffolder.generate import plan_files
from scaffolder.spec import ProjectSpec

ALLOW_IP = "20.1.2.3"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bicep"
RUNTIMES = ("responses", "agents", "inference")
NETWORKS = ("public", "ip-restricted")
MONITORING = (True, False)


@dataclass(frozen=True)
class Combo:
    """One point of the matrix."""

    runtime: str
    network: str
    monitoring: bool

    @property
    def id(self) -> str:
        return f"{self.runtime}-{self.network}-{'mon' if self.monitoring else 'nomon'}"

    def spec(self) -> ProjectSpec:
        # ip-restricted refuses container-apps hosting (the firewall would block the app): infra only there
        extra: dict[str, Any] = (
            {"allow_ips": [ALLOW_IP], "hosting": "none"} if self.network == "ip-restricted" else {}
        )
        return resolve_spec(
            name=f"val-{self.runtime}", runtime=self.runtime, location="eastus2",
            network=self.network, monitoring=self.monitoring, **extra,
        )


MATRIX = tuple(Combo(r, n, m) for r, n, m in itertools.product(RUNTIMES, NETWORKS, MONITORING))
MATRIX_IDS = [c.id for c in MATRIX]
COMBOS = dict(zip(MATRIX_IDS, MATRIX, strict=True))


def write_repo(spec: ProjectSpec, dest: Path) -> Path:
    """Generate a repo in memory (plan_files) and write its files under dest."""
    for planned in plan_files(spec).files:
        target = dest / str(planned.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(planned.content)
    return dest


def bicep_files(repo: Path) -> dict[str, bytes]:
    """Relative path -> content of every .bicep file of a repo."""
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted(repo.rglob("*.bicep"))}


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def inject(text: str, old: str, new: str) -> str:
    """Replace the first occurrence of old, failing loudly when the anchor is gone."""
    assert old in text, f"anchor {old!r} not found: the Bicep changed, update the test"
    return text.replace(old, new, 1)


# Defects checkov must catch, injected into the generated (static) Bicep: (case id, file, old, new).
CHECKOV_DEFECTS = (
    ("local-auth-on", "infra/modules/foundry-account.bicep", "disableLocalAuth: true", "disableLocalAuth: false"),
    ("no-batch-size", "infra/modules/model-deployments.bicep", "@batchSize(1)\n", ""),
    ("no-rai-policy", "infra/modules/model-deployments.bicep", "    raiPolicyName: 'Microsoft.DefaultV2'\n", ""),
    # a nullable type is valid Bicep (tree-sitter reads it) that pycep 0.5.1 cannot parse: checkov would skip the file
    ("pycep-unparseable", "infra/modules/app-identity.bicep", "param tags object\n", "param tags object?\n"),
)


def checkov_defect(case: str, distinct: dict[str, bytes]) -> tuple[str, bytes]:
    """(display name, content) of one injected defect."""
    for case_id, path, old, new in CHECKOV_DEFECTS:
        if case_id == case:
            return f"{case_id}/{Path(path).name}", inject(distinct[path].decode(), old, new).encode()
    raise KeyError(case)


def fixture_dirs() -> list[Path]:
    """One folder per policy under tests/fixtures/bicep."""
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


_INLINE = re.compile(r"//\s*(expect)?(?:\s*(checkov-fails))?\s*$")
_LISTED = re.compile(r"//\s*expect-lines:([\d\s,]+)")


def expected_lines(path: Path) -> tuple[set[int], set[int]]:
    """(lines the rule engine must report, first lines of resources checkov must fail) of a bad fixture."""
    engine: set[int] = set()
    checkov: set[int] = set()
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        match = _INLINE.search(line)
        if match is not None:
            if match.group(1):
                engine.add(number)
            if match.group(2):
                checkov.add(number)
    for match in _LISTED.finditer(text):
        engine.update(int(n) for n in re.findall(r"\d+", match.group(1)))
    return engine, checkov


def checkov_fixture_inputs() -> list[tuple[str, bytes]]:
    """Every good/bad fixture, as (display name, content), for policies checkov can express."""
    from scaffolder.validate import RULE_BY_SLUG

    out = []
    for folder in fixture_dirs():
        if RULE_BY_SLUG[folder.name].checkov_ids:
            for kind in ("good", "bad"):
                out.append((f"{folder.name}/{kind}.bicep", (folder / f"{kind}.bicep").read_bytes()))
    return out


def assert_offline_layers_clean(repo: Path, types_dir: Path) -> None:
    """Every offline layer of `check` finds nothing in repo: syntax, semantics, policies, source and rendered types."""
    from scaffolder.validate import (
        BicepTypes,
        check_policies,
        check_rendered_types,
        check_semantics,
        check_syntax,
        check_types,
        load_project,
    )

    project = load_project(repo)
    assert check_syntax(project) == []
    assert check_semantics(project) == []
    assert check_policies(project) == []
    backend = BicepTypes(types_dir)
    assert check_types(project, backend) == []
    assert check_rendered_types(project, backend) == []
