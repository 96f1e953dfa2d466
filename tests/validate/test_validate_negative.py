"""Each check can fail: defects injected into a generated repo are reported by the layer meant to catch them."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from scaffolder.validate import (
    BicepTypes,
    Checkov,
    Finding,
    SdkModels,
    check_syntax,
    load_project,
    validate_repo,
)
from tests.validate.cases import CHECKOV_DEFECTS, checkov_defect, inject

BASE = "responses-ip-restricted-mon"
ACCOUNT = "infra/modules/foundry-account.bicep"
DEPLOYMENTS = "infra/modules/model-deployments.bicep"
MAIN = "infra/main.bicep"
PARAMS = "infra/main.parameters.json"
ROLES = "infra/modules/role-assignments.bicep"


@dataclass(frozen=True)
class Defect:
    """A one-line change and the finding it must cause (rule, file, and the line holding `marker`)."""

    id: str
    file: str
    old: str
    new: str
    rule: str
    marker: str | None = None
    sdk_rule: str | None = None  # what the SDK backend reports instead, when it differs
    where: str | None = None  # the file the finding is in, when not the one changed

    @property
    def shown(self) -> str:
        return self.where or self.file


DEFECTS = (
    Defect("typo-property", ACCOUNT, "disableLocalAuth: true", "disableLocalAuht: true",
           "types/unknown-property", "disableLocalAuht"),
    Defect("unknown-module-param", MAIN, "name: 'foundry-account-${resourceToken}'\n  params: {\n",
           "name: 'foundry-account-${resourceToken}'\n  params: {\n    bogusParam: 1\n",
           "semantics/module-unknown-param", "bogusParam"),
    Defect("missing-module-param", MAIN, "    networkPosture: networkPosture\n", "",
           "semantics/module-missing-param", "module account "),
    Defect("unknown-module-output", MAIN, "accountName: account.outputs.name",
           "accountName: account.outputs.nmae", "semantics/module-unknown-output", "outputs.nmae"),
    Defect("undefined-identifier", ACCOUNT, "customSubDomainName: name", "customSubDomainName: nmae",
           "semantics/undefined-symbol", "customSubDomainName: nmae"),
    Defect("unknown-function", ACCOUNT, "var ipRules = [for ip in allowedIpRanges: {",
           "var ipRules = [for ip in allowedIpRange(): {", "semantics/unknown-function", "allowedIpRange()"),
    Defect("duplicate-declaration", ACCOUNT, "var ipRules =", "var name = 'x'\nvar ipRules =",
           "semantics/duplicate-declaration", "var name = 'x'"),
    Defect("deploy-time-constant", MAIN, "name: 'foundry-project-${resourceToken}'", "name: account.outputs.name",
           "semantics/deploy-time-constant", "name: account.outputs.name"),
    Defect("module-param-not-allowed", MAIN, "principalType: 'ServicePrincipal'",
           "principalType: 'ServicePrinciple'", "semantics/module-param-type", "'ServicePrinciple'"),
    Defect("output-type", DEPLOYMENTS, "output names array =", "output names string =",
           "semantics/output-type", "output names string ="),
    Defect("bad-api-version", ACCOUNT, "accounts@2025-09-01' = {", "accounts@2019-01-01' = {",
           "types/unknown-resource-type", "accounts@2019-01-01", sdk_rule="types/no-type-data"),
    Defect("read-only-property", ACCOUNT, "    disableLocalAuth: true\n",
           "    disableLocalAuth: true\n    endpoint: 'https://example.com'\n", "types/read-only", "endpoint:"),
    Defect("closed-enum", ACCOUNT, "type: 'SystemAssigned'", "type: 'SystemAssignd'",
           "types/invalid-value", "SystemAssignd", sdk_rule="types/unknown-enum-value"),
    Defect("wrong-primitive", ACCOUNT, "allowProjectManagement: true", "allowProjectManagement: 'true'",
           "types/wrong-type", "allowProjectManagement"),
    Defect("missing-required", ACCOUNT, "  sku: {\n    name: 'S0'\n  }", "  sku: {\n    tier: 'Standard'\n  }",
           "types/missing-property", "  sku: {"),
    Defect("read-typo", ACCOUNT, "account.properties.endpoints[", "account.properties.endpionts[",
           "types/unknown-property", "endpionts"),
    Defect("rendered-capacity-string", PARAMS, '"capacity": 10', '"capacity": "10"',
           "types/wrong-type", "capacity: d.capacity", where=DEPLOYMENTS),
    Defect("rendered-unknown-role-key", PARAMS, '"cognitiveServicesOpenAiUser"', '"cognitiveServicesOpenAiUsr"',
           "semantics/missing-key", "name: guid(account.id, principalId, roleIds[role])", where=ROLES),
    Defect("rendered-module-param-bound", PARAMS, '"logRetentionInDays": {\n      "value": 30',
           '"logRetentionInDays": {\n      "value": 7', "semantics/module-param-type", "retentionInDays:",
           where=MAIN),
    Defect("missing-key", ROLES, "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
           "roleIds[role])", "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
           "roleIds.foundryUsr)", "semantics/missing-key", "roleIds.foundryUsr"),
    Defect("list-keys-output", ACCOUNT, "output name string = account.name",
           "output name string = account.name\noutput primaryKey string = account.listKeys().key1",
           "policy/no-list-keys", "listKeys()"),
    Defect("local-auth-on", ACCOUNT, "disableLocalAuth: true", "disableLocalAuth: false",
           "policy/local-auth-disabled", "disableLocalAuth: false"),
    Defect("no-batch-size", DEPLOYMENTS, "@batchSize(1)\n", "", "policy/deployment-batch-size",
           "resource modelDeployment"),
    Defect("skip-without-reason", ACCOUNT, "// checkov:skip=CKV_AZURE_134:", "// checkov:skip=CKV_AZURE_134 ",
           "policy/checkov-skip-reason", "checkov:skip"),
    Defect("params-file-unknown", PARAMS, '"parameters": {\n', '"parameters": {\n    "bogus": {"value": 1},\n',
           "params-file/unknown-param", '"bogus"'),
    Defect("params-file-missing", PARAMS, '"projectName": {\n      "value": "val-responses"\n    },\n', "",
           "params-file/missing-param"),
    Defect("params-file-type", PARAMS, '"enableMonitoring": {\n      "value": true',
           '"enableMonitoring": {\n      "value": "yes"', "params-file/value", '"enableMonitoring"'),
    # azd turns "${VAR=false}" into false for a bool parameter (so the generated switch is clean), but a
    # default Go's strconv.ParseBool refuses stays a string, which ARM refuses for a bool
    Defect("params-file-azd-default", PARAMS, '"${AZURE_AI_RESTORE_SOFT_DELETED=false}"',
           '"${AZURE_AI_RESTORE_SOFT_DELETED=no}"', "params-file/value", '"restoreSoftDeleted"'),
    Defect("unparseable", DEPLOYMENTS, "    raiPolicyName: 'Microsoft.DefaultV2'\n  }\n",
           "    raiPolicyName: 'Microsoft.DefaultV2'\n", "syntax/tree-sitter"),
)


def _copy_with(defect: Defect, source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    target = dest / defect.file
    target.write_text(inject(target.read_text(encoding="utf-8"), defect.old, defect.new), encoding="utf-8")
    return dest


def _line_of(path: Path, marker: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def _matching(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.id for d in DEFECTS])
def test_injected_defect_is_reported(
    defect: Defect, matrix_repos: dict[str, Path], types_dir: Path, tmp_path: Path
) -> None:
    repo = _copy_with(defect, matrix_repos[BASE], tmp_path / "repo")
    assert validate_repo(matrix_repos[BASE], types_dir=types_dir) == []  # the defect alone makes the difference
    for backend_name in ("bicep-types", "sdk"):
        findings = validate_repo(repo, types_dir=types_dir if backend_name == "bicep-types" else None)
        rule = defect.sdk_rule if backend_name == "sdk" and defect.sdk_rule else defect.rule
        hits = _matching(findings, rule)
        assert hits, f"{backend_name}: expected {rule}, got {[str(f) for f in findings]}"
        shown = defect.shown
        assert shown in {f.file for f in hits}  # knock-on findings elsewhere are fine (main reads the output)
        if defect.marker is not None:
            line = _line_of(repo / shown, defect.marker)
            lines = {f.line for f in hits if f.file == shown}
            assert line in lines, f"{rule} reported at {sorted(lines)}, want {line}"


def test_rendered_defect_is_invisible_statically_and_marked_rendered(
    matrix_repos: dict[str, Path], types_dir: Path, tmp_path: Path
) -> None:
    defect = next(d for d in DEFECTS if d.id == "rendered-capacity-string")
    repo = _copy_with(defect, matrix_repos[BASE], tmp_path / "repo")
    static = validate_repo(repo, types_dir=types_dir, rendered=False)
    rendered = validate_repo(repo, types_dir=types_dir)
    assert [f for f in static if f.rule.startswith("types/")] == []
    (hit,) = _matching(rendered, "types/wrong-type")
    assert "[rendered: main>deployments]" in hit.message and "'10'" in hit.message


def test_unparseable_file_reports_line_and_column(matrix_repos: dict[str, Path], tmp_path: Path) -> None:
    defect = next(d for d in DEFECTS if d.id == "unparseable")
    repo = _copy_with(defect, matrix_repos[BASE], tmp_path / "repo")
    hits = check_syntax(load_project(repo))
    assert hits and all(f.file == DEPLOYMENTS and f.line > 0 and f.col > 0 for f in hits)
    assert all(f.rule == "syntax/tree-sitter" for f in validate_repo(repo) if f.file == DEPLOYMENTS)


def test_ip_restricted_without_ranges_renders_a_deny_all_account(
    matrix_repos: dict[str, Path], tmp_path: Path
) -> None:
    """The parameters file drives the rendered values: swap the posture, the ACL follows."""
    repo = tmp_path / "repo"
    shutil.copytree(matrix_repos["responses-public-mon"], repo)
    params_path = repo / PARAMS
    data = json.loads(params_path.read_text(encoding="utf-8"))
    data["parameters"]["networkPosture"]["value"] = "ip-restricted"
    params_path.write_text(json.dumps(data), encoding="utf-8")
    from scaffolder.validate import render
    from scaffolder.validate._eval import to_plain

    (account,) = [to_plain(r.body) for r in render(load_project(repo)) if r.type.endswith("/accounts")]
    assert isinstance(account, dict)
    assert account["properties"]["networkAcls"] == {
        "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": [],
    }


def test_both_backends_share_the_walker(types_dir: Path) -> None:
    bicep = BicepTypes(types_dir).resource("Microsoft.CognitiveServices/accounts/deployments", "2025-09-01")
    sdk = SdkModels().resource("Microsoft.CognitiveServices/accounts/deployments", "2025-09-01")
    assert bicep.body is not None and sdk.body is not None
    from scaffolder.validate._schema import ObjectSchema

    assert isinstance(bicep.body, ObjectSchema) and isinstance(sdk.body, ObjectSchema)
    for body in (bicep.body, sdk.body):
        assert {"name", "sku", "properties"} <= set(body.props)
        assert body.props["name"].required


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c, *_ in CHECKOV_DEFECTS])
def test_checkov_catches_injected_defects(case: str, warm_checkov: Checkov, distinct_bicep: dict[str, bytes]) -> None:
    name, content = checkov_defect(case, distinct_bicep)
    (report,) = warm_checkov.scan([(name, content)])
    failed = {r.check_id for r in report.failed()}
    expected = {
        "local-auth-on": {"CKV_AZURE_236", "CKV2_FOUNDRY_4"},
        "no-batch-size": {"CKV2_FOUNDRY_1"},
        "no-rai-policy": {"CKV2_FOUNDRY_2"},
        "pycep-unparseable": set(),
    }[case]
    assert failed == expected
    if case == "pycep-unparseable":
        assert report.parsing_errors == 1
        assert [f.rule for f in report.findings()] == ["checkov/parsing-error"]
        (parsed,) = warm_checkov.parse([(name, content)])
        assert not parsed.ok and parsed.line > 0
        assert [f.rule for f in parsed.findings()] == ["syntax/pycep"]
    else:
        assert report.parsing_errors == 0


@pytest.mark.slow
def test_validate_repo_runs_checkov_once_per_distinct_file(
    warm_checkov: Checkov, matrix_repos: dict[str, Path], types_dir: Path, tmp_path: Path
) -> None:
    defect = next(d for d in DEFECTS if d.id == "local-auth-on")
    repo = _copy_with(defect, matrix_repos[BASE], tmp_path / "repo")
    runs = warm_checkov.runs
    findings = validate_repo(repo, types_dir=types_dir, checkov=warm_checkov)
    assert warm_checkov.runs == runs, "identical contents come from the cache"
    rules = {f.rule for f in findings}
    assert {"policy/local-auth-disabled", "checkov/CKV_AZURE_236", "checkov/CKV2_FOUNDRY_4"} <= rules
    assert all(f.file == ACCOUNT for f in findings)
