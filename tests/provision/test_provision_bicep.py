"""The provisioning plan creates exactly what the generated Bicep declares, resource by resource.

The generated repo's infra/ is parsed with tree-sitter-bicep and evaluated with its own
infra/main.parameters.json (azd's ${VAR} substitutions filled in), then every resource's type,
api-version, name and body (property paths and literal values, references to other resources'
runtime values included) is compared with the plan the SDK path applies.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from bicep_eval import Deployment, opaque
from helpers import make_spec

from scaffolder.generate import plan_files
from scaffolder.provisioning.api import outputs
from scaffolder.provisioning.plan import BICEP_DEFAULTS, GuidName, Target, build_plan, resolve
from scaffolder.spec import ProjectSpec
from scaffolder.standards import Naming

SUB = "00000000-0000-4000-8000-0000000000aa"
RG = "rg-Demo"
DEV = "0f0e0d0c-0000-4000-8000-00000000beef"


class Symbolic:
    """A runtime value of a planned resource, printed exactly like the evaluator's opaque values."""

    def __init__(self, key: str, path: str = "") -> None:
        self.key, self.path = key, path

    def __getitem__(self, part: str) -> Symbolic:
        step = f".{part}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) else f"['{part}']"
        return Symbolic(self.key, (self.path + step) if self.path else part)

    def get(self, part: str, default: Any = None) -> Symbolic:
        return self[part]

    def __str__(self) -> str:
        return opaque(self.key, self.path)

    def __bool__(self) -> bool:
        return True


def _plain(value: Any) -> Any:
    if isinstance(value, Symbolic):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _azd_substitute(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{(\w+)(?:=([^}]*))?\}", value)
        if m:
            return env.get(m.group(1), m.group(2) or "")
        return value
    if isinstance(value, dict):
        return {k: _azd_substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_azd_substitute(v, env) for v in value]
    return value


def _custom_naming(spec: ProjectSpec) -> ProjectSpec:
    naming = Naming(
        pattern="{abbr}{project}-{env}-{region}-{token}",
        abbreviations={"account": "ai-", "identity": "id-", "logAnalytics": "log-", "appInsights": "appi-"},
    )
    return spec.model_copy(update={"naming": naming})


SPECS = {
    "agents": lambda: make_spec("agents", models=["gpt-5.4-mini", "gpt-5.4"], tags={"team": "ai", "cost-center": "42"}),
    "responses-no-monitoring": lambda: make_spec("responses", monitoring=False),
    "inference-partner-ip": lambda: make_spec(
        "inference",
        models=["gpt-5.4-mini", "DeepSeek-R1"],
        network="ip-restricted",
        allow_ips=["20.30.40.50", "52.10.0.0/16"],
    ),
    "custom-naming": lambda: _custom_naming(make_spec("responses")),
}


def _evaluate(spec: ProjectSpec, principal: str, principal_type: str) -> tuple[Deployment, dict[str, Any]]:
    files = {str(f.path): f.content.decode() for f in plan_files(spec).files if str(f.path).startswith("infra/")}
    raw = json.loads(files["infra/main.parameters.json"])["parameters"]
    env = {
        "AZURE_ENV_NAME": "dev",
        "AZURE_LOCATION": spec.location,
        "AZURE_PRINCIPAL_ID": principal,
        "AZURE_PRINCIPAL_TYPE": principal_type,
    }
    params = {name: _azd_substitute(p["value"], env) for name, p in raw.items()}
    deployment = Deployment(files, SUB, RG, spec.location)
    out = deployment.run("infra/main.bicep", params)
    return deployment, out


@pytest.mark.xfail(strict=True, reason="the hand-written provisioning plan does not know the hosting and tracing "
                   "resources (Container Apps, registry, App Insights connection, trace reader) and this test's "
                   "evaluator cannot read `resource ... = if`; issue-12 replaces the plan with the evaluated Bicep")
@pytest.mark.parametrize("case", sorted(SPECS))
@pytest.mark.parametrize("principal", [DEV, ""])
def test_plan_matches_the_generated_bicep(case: str, principal: str) -> None:
    spec = SPECS[case]()
    deployment, bicep_outputs = _evaluate(spec, principal, "User")
    target = Target(SUB, RG, spec.location, "dev", principal_id=principal, principal_type="User")
    plan = build_plan(spec, target)

    full_names: dict[str, str] = {}
    for res in plan.resources:
        if isinstance(res.name, str):
            parent = "/".join(res.parent_id.split("/")[8::2]) if res.type.count("/") > 1 else ""
            full_names[res.key] = f"{parent}/{res.name}" if parent else res.name
    states = {key: Symbolic(f"{plan.get(key).type}/{name}") for key, name in full_names.items()}

    planned = {}
    for res in plan.resources:
        if res.key == "resourceGroup":
            continue  # azd creates it before the deployment; the Bicep targets it
        name = resolve(res.name, states) if isinstance(res.name, GuidName) else full_names[res.key]
        body = _plain(resolve(res.body, states))
        planned[(res.type, name.lower())] = (res.api_version, {"name": name.rsplit("/", 1)[-1], **body})

    emitted = {(e.type, e.name.lower()): (e.api_version, e.body) for e in deployment.emitted}
    assert sorted(planned) == sorted(emitted)
    for key, (api_version, body) in planned.items():
        assert (api_version, body) == emitted[key], key

    # Outputs: every Bicep output is an env var the SDK path writes, with the same value.
    values = outputs(plan, states)  # type: ignore[arg-type]
    for name, value in bicep_outputs.items():
        mine = str(values[name])
        if isinstance(value, list):
            assert json.loads(mine) == value, name
        else:
            assert mine == value, name


@pytest.mark.xfail(strict=True, reason="the hand-written provisioning plan does not know the hosting and tracing "
                   "resources (Container Apps, registry, App Insights connection, trace reader) and this test's "
                   "evaluator cannot read `resource ... = if`; issue-12 replaces the plan with the evaluated Bicep")
def test_deployments_are_declared_one_at_a_time() -> None:
    deployment, _ = _evaluate(SPECS["agents"](), DEV, "User")
    deps = [e for e in deployment.emitted if e.type.endswith("/deployments")]
    assert deps and all("@batchSize(1)" in e.decorators for e in deps)


def test_plan_defaults_are_the_bicep_parameter_defaults() -> None:
    spec = make_spec("responses")
    files = {str(f.path): f.content.decode() for f in plan_files(spec).files if str(f.path).startswith("infra/")}
    main = files["infra/main.bicep"]
    for name, value in BICEP_DEFAULTS.items():
        literal = (
            {True: "true", False: "false"}.get(value, f"'{value}'") if not isinstance(value, str) else f"'{value}'"
        )
        assert re.search(rf"^param {name} \w+ = {re.escape(literal)}$", main, re.M), name
