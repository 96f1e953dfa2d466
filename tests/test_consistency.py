"""One spec drives every output: Bicep outputs, .env.example, app settings, answers, parameters, azure.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import yaml

from scaffolder import catalog, infra
from scaffolder.generate import plan_files
from scaffolder.spec import ProjectSpec
from tests.helpers import make_spec

RUNTIMES = ["responses", "agents", "inference"]


def bicep_outputs(text: str) -> dict[str, str]:
    return dict(re.findall(r"^output (\w+) (\w+) =", text, flags=re.MULTILINE))


def bicep_params(text: str) -> set[str]:
    return set(re.findall(r"^param (\w+) ", text, flags=re.MULTILINE))


def env_example(text: str) -> list[str]:
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_env_vars_agree_everywhere(runtime: str) -> None:
    spec = make_spec(runtime)
    plan = plan_files(spec)
    wanted = [v.name for v in infra.app_env(spec)]
    outputs = bicep_outputs(plan.text("infra/main.bicep"))
    assert set(wanted) <= set(outputs), "every variable the app reads is a Bicep output"
    assert set(catalog.envvars()) <= set(outputs)
    assert env_example(plan.text(".env.example")) == wanted
    settings = plan.text(f"src/{spec.package}/settings.py")
    for name in wanted:
        assert re.search(rf"^\s+{name.lower()}\s*:", settings, flags=re.MULTILINE), f"{name}: no settings field"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_parameters_file_matches_main_bicep(runtime: str) -> None:
    plan = plan_files(make_spec(runtime))
    declared = bicep_params(plan.text("infra/main.bicep"))
    given = set(json.loads(plan.text("infra/main.parameters.json"))["parameters"])
    assert given <= declared, f"unknown parameters: {given - declared}"
    required = {
        m.group(1)
        for m in re.finditer(r"^param (\w+) \w+$", plan.text("infra/main.bicep"), flags=re.MULTILINE)
    }
    assert required <= given, f"required parameters not given: {required - given}"


def _changed(spec: ProjectSpec, **update: Any) -> ProjectSpec:
    return ProjectSpec.model_validate({**spec.model_dump(), **update})


def test_one_field_change_follows_through_every_output() -> None:
    base = make_spec("responses")
    moved = _changed(base, location="swedencentral", monitoring=False)
    a, b = plan_files(base), plan_files(moved)
    pa = json.loads(a.text("infra/main.parameters.json"))["parameters"]
    pb = json.loads(b.text("infra/main.parameters.json"))["parameters"]
    assert pa["location"]["value"].endswith("=eastus2}") and pb["location"]["value"].endswith("=swedencentral}")
    assert (pa["enableMonitoring"]["value"], pb["enableMonitoring"]["value"]) == (True, False)
    answers = yaml.safe_load(b.text(".scaffolder.yml"))["spec"]
    assert (answers["location"], answers["monitoring"]) == ("swedencentral", False)
    assert "swedencentral" in b.text("README.md") and "Log Analytics" not in b.text("README.md")


def test_model_change_follows_into_env_example_params_and_answers() -> None:
    base = make_spec("inference")
    other = make_spec("inference", models=["Mistral-Large-2411,deployment=mistral"])
    plan = plan_files(other)
    assert "AZURE_AI_MODEL_DEPLOYMENT=mistral" in plan.text(".env.example")
    params = json.loads(plan.text("infra/main.parameters.json"))["parameters"]
    assert params["modelDeployments"]["value"][0]["name"] == "mistral"
    assert yaml.safe_load(plan.text(".scaffolder.yml"))["spec"]["models"][0]["name"] == "mistral"
    assert "AZURE_AI_MODEL_DEPLOYMENT=gpt-5.4-mini" in plan_files(base).text(".env.example")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_roles_follow_runtime(runtime: str) -> None:
    params = json.loads(plan_files(make_spec(runtime)).text("infra/main.parameters.json"))["parameters"]
    expected = {
        "responses": (["cognitiveServicesOpenAiUser"], [], []),
        "agents": ([], ["foundryUser"], ["foundryUser"]),
        "inference": (["cognitiveServicesOpenAiUser"], [], []),
    }[runtime]
    got = (params["appAccountRoles"]["value"], params["appProjectRoles"]["value"],
           params["projectIdentityAccountRoles"]["value"])
    assert got == expected
    # the developer gets the app's data roles; on agents also Reader on the resource (the portal's minimum)
    extra = ["reader"] if runtime == "agents" else []
    assert params["developerAccountRoles"]["value"] == params["appAccountRoles"]["value"] + extra
    assert params["developerProjectRoles"]["value"] == params["appProjectRoles"]["value"]


def _azd_registry(schema_dir: Path) -> referencing.Registry:  # type: ignore[type-arg]
    refs = schema_dir / "refs"
    prefix = "https://raw.githubusercontent.com/Azure/azure-dev/main/cli/azd/extensions/"

    def retrieve(uri: str) -> referencing.Resource:  # type: ignore[type-arg]
        ext, _, name = uri.removeprefix(prefix).partition("/schemas/")
        return referencing.Resource.from_contents(json.loads((refs / ext / name).read_text()))

    return referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]


@pytest.mark.parametrize("hosting", ["container-apps", "none"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_azure_yaml_validates_against_azd_schema(runtime: str, hosting: str, azd_schema_dir: Path) -> None:
    schema = json.loads((azd_schema_dir / "azure.yaml.json").read_text())
    doc = yaml.safe_load(plan_files(make_spec(runtime, hosting=hosting)).text("azure.yaml"))
    validator = jsonschema.Draft201909Validator(schema, registry=_azd_registry(azd_schema_dir))
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, errors[0].message
    assert doc["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}


def test_azd_schema_rejects_a_broken_azure_yaml(azd_schema_dir: Path) -> None:
    schema = json.loads((azd_schema_dir / "azure.yaml.json").read_text())
    validator = jsonschema.Draft201909Validator(schema, registry=_azd_registry(azd_schema_dir))
    assert list(validator.iter_errors({"name": "Bad_Name", "infra": {"provider": "pulumi"}}))


def test_no_keys_in_generated_files() -> None:
    for runtime in RUNTIMES:
        for f in plan_files(make_spec(runtime)).files:
            text = f.content.decode()
            assert "listKeys" not in text, f.path
            assert not re.search(r"(?i)api[_-]?key\s*[:=]\s*['\"][^'\"]+['\"]", text), f.path


def test_ci_workflow_uses_oidc_and_no_secrets() -> None:
    wf = yaml.safe_load(plan_files(make_spec("agents")).text(".github/workflows/ci.yml"))
    deploy = wf["jobs"]["deploy"]
    assert deploy["permissions"]["id-token"] == "write"
    steps = [s.get("uses", "") for s in deploy["steps"]]
    assert any(s.startswith("azure/login@") for s in steps)
    assert "secrets." not in json.dumps(wf)
    # azd >= 1.17.1 computes the principal id and type itself (it ignores values set for them)
    assert "AZURE_PRINCIPAL_TYPE" not in deploy["env"] and "az ad sp show" not in json.dumps(wf)
    assert deploy["needs"] == ["test", "check"]
    check_steps = [s.get("run", "") for s in wf["jobs"]["check"]["steps"]]
    assert "scaffolder check --install-checkov" in check_steps


def test_shared_folder_is_not_copied_into_repo() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert not list(repo.rglob("types.json"))


def test_agents_repo_syncs_the_agent_after_azd_provision() -> None:
    hooks = yaml.safe_load(plan_files(make_spec("agents")).text("azure.yaml"))["hooks"]["postprovision"]
    # in the repo's own venv (PEP 668 system Pythons refuse a bare pip install), failing loudly
    assert "python3 -m venv .venv" in hooks["posix"]["run"] and ".venv/bin/demo agent sync" in hooks["posix"]["run"]
    assert "exit 1" in hooks["posix"]["run"] and hooks["posix"]["continueOnError"] is True
    assert ".venv/Scripts/demo agent sync" in hooks["windows"]["run"]
    assert "hooks" not in yaml.safe_load(plan_files(make_spec("responses")).text("azure.yaml"))
    restricted = make_spec("agents", hosting="none", network="ip-restricted", allow_ips=["20.1.2.3"])
    hooks = yaml.safe_load(plan_files(restricted).text("azure.yaml"))["hooks"]["postprovision"]
    assert hooks["posix"]["continueOnError"] is False and hooks["windows"]["continueOnError"] is False
    assert "20.1.2.3" in hooks["posix"]["run"]


@pytest.mark.parametrize("hosting", ["container-apps", "none"])
def test_hosting_follows_into_azure_yaml_params_dockerfile_and_answers(hosting: str) -> None:
    plan = plan_files(make_spec("responses", hosting=hosting))
    doc = yaml.safe_load(plan.text("azure.yaml"))
    params = json.loads(plan.text("infra/main.parameters.json"))["parameters"]
    assert params["hosting"]["value"] == hosting
    assert doc["requiredVersions"]["azd"] == ">= 1.17.1"
    assert yaml.safe_load(plan.text(".scaffolder.yml"))["spec"]["hosting"] == hosting
    if hosting == "container-apps":
        service = doc["services"]["api"]
        assert (service["host"], service["docker"]["remoteBuild"]) == ("containerapp", True)
        assert params["apiImageName"]["value"] == "${SERVICE_API_IMAGE_NAME}"
        dockerfile = plan.text("Dockerfile")
        assert "USER 10001" in dockerfile and "demo.api:app" in dockerfile
        assert plan.text(".dockerignore").startswith("#")
    else:
        assert "services" not in doc and "apiImageName" not in params
        assert "Dockerfile" not in plan.paths() and ".dockerignore" not in plan.paths()


@pytest.mark.parametrize("hosting", ["container-apps", "none"])
def test_ci_deploy_job_ships_the_app_when_hosted(hosting: str) -> None:
    # azd's own CI template runs `azd provision --no-prompt` then `azd deploy --no-prompt`
    # (Azure/azure-dev templates/common/.github/workflows/bicep/azure-dev.yml). A fresh runner has no
    # .azure/<env>/.env, so provision alone would put the placeholder back and leave the code unshipped.
    wf = yaml.safe_load(plan_files(make_spec("responses", hosting=hosting)).text(".github/workflows/ci.yml"))
    deploy = wf["jobs"]["deploy"]
    commands = [
        line.strip() for step in deploy["steps"] for line in step.get("run", "").splitlines() if line.strip()
    ]
    azd = [c for c in commands if c.startswith(("azd provision", "azd deploy", "azd up"))]
    if hosting == "container-apps":
        assert azd == ["azd provision --no-prompt", "azd deploy --no-prompt"]
        # the audience main.parameters.json reads as ${APP_AUTH_AUDIENCE}; without it the API answers 503
        assert deploy["env"]["APP_AUTH_AUDIENCE"] == "${{ vars.APP_AUTH_AUDIENCE }}"
        assert "APP_AUTH_AUDIENCE" in wf_header(hosting)
    else:
        assert azd == ["azd provision --no-prompt"]
        assert "APP_AUTH_AUDIENCE" not in deploy["env"]


def wf_header(hosting: str) -> str:
    text = plan_files(make_spec("responses", hosting=hosting)).text(".github/workflows/ci.yml")
    return "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))


def test_hosted_readme_says_conversations_are_lost_on_restart_and_what_to_do() -> None:
    # The ownership (and runtime) state is a SQLite file on the container's ephemeral disk.
    hosted = plan_files(make_spec("responses")).text("README.md")
    assert "**Conversations do not survive a restart or a deploy.**" in hosted
    assert "callers then get 404" in hosted and "Azure Files" in hosted
    assert "appRoleAssignmentRequired=true" in hosted and "https://sts.windows.net/<tenant>/" in hosted
    assert "Conversations do not survive" not in plan_files(make_spec("responses", hosting="none")).text("README.md")
