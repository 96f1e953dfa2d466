"""check and user Bicep inside main.bicep: additions are the user's, generated declarations are compared by meaning,
and every difference names a command that really clears it (update, or check --accept), so --strict can pass."""

from __future__ import annotations

import gzip
import io
import re
import shlex
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder._new import new
from scaffolder.checks import ACCEPTED_FILE, check
from scaffolder.cli import app
from scaffolder.generate._plan import PRISTINE_FILE
from tests.helpers import make_spec

runner = CliRunner()

USER_BICEP = """
// Our own storage, declared in main.bicep itself.
@description('Blob storage for uploads.')
param uploadsSku string = 'Standard_LRS'

resource uploads 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${uniqueString(resourceGroup().id)}'
  location: location
  kind: 'StorageV2'
  sku: {
    name: uploadsSku
  }
  properties: {
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

module extraRoles 'modules/role-assignments.bicep' = {
  name: 'extra-roles'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    principalId: appIdentity.outputs.principalId
    principalType: 'ServicePrincipal'
    accountRoles: []
    projectRoles: []
  }
}

output UPLOADS_ACCOUNT string = uploads.name
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    new(make_spec("responses"), tmp_path / "demo")
    return tmp_path / "demo"


def _main(repo: Path) -> Path:
    return repo / "infra" / "main.bicep"


def _edit(path: Path, old: str, new_text: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new_text, 1))


def _main_bicep_findings(result) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [f for f in result.findings if f.file == "infra/main.bicep"]


def test_user_declarations_in_main_bicep_are_not_drift_and_go_through_the_layers(repo: Path) -> None:
    main = _main(repo)
    # What a team does: its own param, resource, module and output; comments; blank lines; a description reworded;
    # a generated output moved up. None of it changes what the generator owns.
    text = main.read_text()
    moved = next(line for line in text.splitlines() if line.startswith("output AZURE_RESOURCE_GROUP "))
    text = text.replace(moved + "\n", "").replace("targetScope = 'resourceGroup'\n",
                                                   f"targetScope = 'resourceGroup'\n\n{moved}  // moved\n")
    text = text.replace("@description('Tags applied to every resource.')", "@description('Our cost-centre tags.')")
    main.write_text(text + USER_BICEP)
    strict = check(repo, offline_only=True, strict=True)
    assert strict.ok, [str(f) for f in strict.findings]
    assert _main_bicep_findings(strict) == []
    # The user's resource is validated like the generated ones: a policy breach and an undefined symbol are errors.
    _edit(main, "allowSharedKeyAccess: false", "allowSharedKeyAccess: true")
    _edit(main, "output UPLOADS_ACCOUNT string = uploads.name", "output UPLOADS_ACCOUNT string = upload.name")
    broken = check(repo, offline_only=True)
    kinds = {f.rule.split("/")[0] for f in broken.errors if f.file == "infra/main.bicep"}
    assert {"policy", "semantics"} <= kinds, [str(f) for f in broken.errors]
    assert not any(f.rule.startswith("drift/") for f in broken.findings)


def test_a_changed_or_removed_generated_declaration_is_reported_and_accept_clears_strict(repo: Path) -> None:
    main = _main(repo)
    _edit(main, "param logRetentionInDays int = 30", "param logRetentionInDays int = 60")
    removed = next(line for line in main.read_text().splitlines() if line.startswith("output SERVICE_API_URI "))
    _edit(main, removed + "\n", "")
    main.write_text(main.read_text() + USER_BICEP)
    result = check(repo, offline_only=True, strict=True)
    assert not result.ok
    by_rule = {f.rule: f for f in result.errors}
    assert set(by_rule) == {"drift/changed", "drift/removed"}, [str(f) for f in result.errors]
    changed, gone = by_rule["drift/changed"], by_rule["drift/removed"]
    line = main.read_text().splitlines().index("param logRetentionInDays int = 60") + 1
    assert (changed.file, changed.line) == ("infra/main.bicep", line)
    assert "param logRetentionInDays" in changed.message
    assert changed.expected == "'param logRetentionInDays int = 30'"
    assert changed.found.startswith("'param logRetentionInDays int = 60'")
    assert "output SERVICE_API_URI" in gone.message and gone.found == "no such declaration"
    assert gone.expected.startswith("\"output SERVICE_API_URI string")
    accept = f"scaffolder check {repo} --accept"
    assert changed.fix == gone.fix == accept  # the user's edits: `update` would keep them, so it cannot clear them
    printed = runner.invoke(app, ["check", str(repo), "--offline", "--strict"])
    assert printed.exit_code == 1 and f"to reconcile: {accept}" in printed.stdout

    # Run exactly what was printed: the differences are recorded, and --strict passes from then on.
    done = runner.invoke(app, shlex.split(accept)[1:])
    assert done.exit_code == 0, done.output
    assert f"2 difference(s) from the generator accepted in {ACCEPTED_FILE}: commit it" in done.stderr
    recorded = (repo / ACCEPTED_FILE).read_text()
    assert "param logRetentionInDays" in recorded and "output SERVICE_API_URI" in recorded
    after = check(repo, offline_only=True, strict=True)
    assert after.ok and len(after.accepted) == 2 and after.findings == ()
    assert runner.invoke(app, ["check", str(repo), "--offline", "--strict"]).exit_code == 0

    # An acceptance holds for that exact difference: changing the declaration again reports it again.
    _edit(main, "param logRetentionInDays int = 60", "param logRetentionInDays int = 90")
    again = check(repo, offline_only=True, strict=True)
    assert [f.rule for f in again.errors] == ["drift/changed"] and len(again.accepted) == 1
    # Errors are never accepted: a policy breach still fails after --accept, and is not recorded.
    _edit(main, "allowSharedKeyAccess: false", "allowSharedKeyAccess: true")
    refused = runner.invoke(app, ["check", str(repo), "--offline", "--accept"])
    assert refused.exit_code == 1 and "error [policy/" in refused.stdout
    assert "policy" not in (repo / ACCEPTED_FILE).read_text()
    assert check(repo, offline_only=True, strict=True).errors[0].rule.startswith("policy/")


def _rewrite_pristine(repo: Path, path: str, old: str, new_text: str) -> None:
    """Make the pristine archive say the generator once wrote `new_text` (an older generator, as it were)."""
    archive = repo / PRISTINE_FILE
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive.read_bytes()))) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]  # type: ignore[union-attr]
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for member, data in members:
            if member.name == path:
                data = data.decode().replace(old, new_text, 1).encode()
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    archive.write_bytes(out.getvalue())


def test_a_difference_the_generator_made_points_to_update_and_update_clears_it(repo: Path) -> None:
    # The repo holds what an older generator wrote (its pristine archive says so): the user changed nothing.
    old, older = "param logRetentionInDays int = 30", "param logRetentionInDays int = 45"
    _rewrite_pristine(repo, "infra/main.bicep", old, older)
    _edit(_main(repo), old, older)
    _main(repo).write_text(_main(repo).read_text() + USER_BICEP)
    result = check(repo, offline_only=True, strict=True)
    (finding,) = result.errors
    assert finding.fix == f"scaffolder update {repo}"
    done = runner.invoke(app, shlex.split(finding.fix)[1:])
    assert done.exit_code == 0, done.output
    after = check(repo, offline_only=True, strict=True)
    assert after.ok, [str(f) for f in after.findings]
    text = _main(repo).read_text()
    assert old in text and "resource uploads" in text  # the generator's value back, the user's resource kept


def test_strict_from_the_standards_is_cleared_the_same_way(repo: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.yml"
    team.write_text("name: team\ncheck:\n  strict: true\n")
    _edit(repo / "azure.yaml", "name: ", "name: ours-")
    failed = runner.invoke(app, ["check", str(repo), "--offline", "--standards", str(team)])
    assert failed.exit_code == 1
    fix = re.search(r"to reconcile: (.+)", failed.stdout)
    assert fix is not None and fix.group(1) == f"scaffolder check {repo} --accept --standards {team}"
    assert runner.invoke(app, shlex.split(fix.group(1))[1:]).exit_code == 0
    assert runner.invoke(app, ["check", str(repo), "--offline", "--standards", str(team)]).exit_code == 0
