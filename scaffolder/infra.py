"""Derive the infrastructure contract from a spec: Bicep parameters, role grants and env vars (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from scaffolder import catalog
from scaffolder.catalog import EnvVar, Role, RoleGrant
from scaffolder.spec import ProjectSpec

Principal = Literal["app", "developer", "project"]
GrantScope = Literal["account", "project", "appInsights", "registry", "search", "cosmosDb", "storage"]

# Bicep role keys (modules/role-assignments.bicep `roleIds`) by catalog role key.
BICEP_ROLE_KEYS = {
    "foundry-user": "foundryUser",
    "cognitive-services-openai-user": "cognitiveServicesOpenAiUser",
    "cognitive-services-user": "cognitiveServicesUser",
    "reader": "reader",
    # not in role-assignments.bicep's map: monitoring.bicep grants it on the Application Insights component
    "monitoring-metrics-publisher": "monitoringMetricsPublisher",
    # not in role-assignments.bicep's map: monitoring.bicep grants it to the developer on the component
    "log-analytics-reader": "logAnalyticsReader",
    # not in role-assignments.bicep's map: container-registry.bicep grants it to the app on the registry
    "acr-pull": "acrPull",
    # ai-search-roles.bicep's map: granted on the search service (scope "search")
    "search-index-data-reader": "searchIndexDataReader",
    "search-index-data-contributor": "searchIndexDataContributor",
    "search-service-contributor": "searchServiceContributor",
    # the standard agent setup's modules (agent-setup-roles.bicep, agent-setup-data-roles.bicep) grant these
    "cosmos-db-operator": "cosmosDbOperator",
    "cosmos-db-built-in-data-contributor": "cosmosDbBuiltInDataContributor",
    "storage-blob-data-contributor": "storageBlobDataContributor",
    "storage-blob-data-owner": "storageBlobDataOwner",
}
# Standard agent setup: the project identity's grants on its own stores, in the order Microsoft's template makes them
# (41-standard-agent-setup: operator and contributor roles before the capability host, data roles after it).
STANDARD_SETUP_GRANTS: tuple[tuple[str, GrantScope], ...] = (
    ("cosmos-db-operator", "cosmosDb"),
    ("storage-blob-data-contributor", "storage"),
    ("search-index-data-contributor", "search"),
    ("search-service-contributor", "search"),
    ("storage-blob-data-owner", "storage"),
    ("cosmos-db-built-in-data-contributor", "cosmosDb"),
)
# The developer's roles on a search service the agents ai-search tool creates: create the index (definitions) and
# load its documents (learn.microsoft.com/azure/search/search-security-rbac, "Built-in roles").
DEVELOPER_SEARCH_ROLES = ("search-service-contributor", "search-index-data-contributor")
# Roles whose data actions a broader role includes on the same scope (search-security-rbac: Index Data Contributor
# "read-write access to the content of indexes", Reader "read-only access").
SUBSUMED_BY: dict[str, tuple[str, ...]] = {"search-index-data-reader": ("search-index-data-contributor",)}
MONITORING_ROLE = "monitoring-metrics-publisher"
TRACE_READER_ROLE = "log-analytics-reader"
PULL_ROLE = "acr-pull"


@dataclass(frozen=True)
class Grant:
    """One role one principal gets at one scope, with the reason shown in docs."""

    principal: Principal
    role: Role
    scope: GrantScope
    reason: str = ""  # why this principal needs it, when the role's own text does not say (README roles table)


def grants(spec: ProjectSpec) -> list[Grant]:
    """The role assignments the runtime needs, narrowest scope first; partner models widen the data role."""
    profile = catalog.runtimes()[spec.runtime]
    roleset = profile.roles
    partner = profile.partner_roles if spec.has_partner_models else None
    all_roles = catalog.roles()
    out: list[Grant] = []
    for principal in ("app", "developer", "project"):
        chosen: tuple[RoleGrant, ...] = getattr(roleset, principal)
        if partner is not None and getattr(partner, principal):
            chosen = getattr(partner, principal)
        out.extend(Grant(principal, all_roles[g.role], g.scope) for g in chosen)
    if spec.monitoring:
        out.append(Grant("app", all_roles[MONITORING_ROLE], "appInsights"))
        out.append(Grant("developer", all_roles[TRACE_READER_ROLE], "appInsights"))
    if spec.hosting == "container-apps":
        out.append(Grant("app", all_roles[PULL_ROLE], "registry"))
    if spec.agent_setup == "standard":
        out.extend(Grant("project", all_roles[role], scope) for role, scope in STANDARD_SETUP_GRANTS)
    for tool in spec.tools:  # the chosen tools' roles (catalog/tools.yaml needs.<runtime>.roles)
        need = catalog.tools()[tool.name].needs.get(spec.runtime)
        for g in need.roles if need else ():
            if g.scope == "search" and not spec.uses_search:
                continue  # an existing connection was named: no service of ours to grant on
            grant = Grant(g.principal or "app", all_roles[g.role], g.scope)
            if grant not in out:
                out.append(grant)
    search_tool = spec.tool_options("ai-search") if spec.runtime is catalog.Runtime.AGENTS else None
    if search_tool is not None and not search_tool.get("connection") and not spec.search_resource_id:
        # The service this repo creates has local auth off: without a data role nobody can fill the tool's index.
        why = f"create and fill the index '{search_tool['index']}' the agent's ai-search tool reads (keys are off)"
        out.extend(Grant("developer", all_roles[role], "search", why) for role in DEVELOPER_SEARCH_ROLES)
    # A role another grant on the same (principal, scope) already covers adds nothing (F6 of the issue-16 review).
    return [g for g in out if not any(
        o.principal == g.principal and o.scope == g.scope and o.role.key in SUBSUMED_BY.get(g.role.key, ())
        for o in out)]


# Project connections the agents runtime's tools use, by tool: connection name, category (the pinned API version's
# ConnectionPropertiesV2.category values, ../shared/bicep-types microsoft.cognitiveservices/2025-12-01) and target.
# Every one is authType AAD: no credential is stored (SharePoint and Fabric run as the signed-in user).
CONNECTION_NAMES = {"ai-search": "ai-search", "sharepoint": "sharepoint", "fabric": "fabric"}


def tool_connections(spec: ProjectSpec) -> list[dict[str, str]]:
    """Every project connection the tools use, for the README: created by infra/ or given by ARM id."""
    out: list[dict[str, str]] = []
    search = spec.tool_options("ai-search")
    if search is not None and spec.runtime is catalog.Runtime.AGENTS:
        if search.get("connection"):
            out.append({"name": search["connection"].rsplit("/", 1)[-1], "category": "CognitiveSearch",
                        "target": "", "existing": search["connection"]})
        else:
            out.append({"name": CONNECTION_NAMES["ai-search"], "category": "CognitiveSearch",
                        "target": "the Azure AI Search service above", "existing": ""})
    for made in project_connections(spec):
        out.append({"name": made["name"], "category": made["category"], "target": made["target"], "existing": ""})
    for tool, category in (("sharepoint", "Sharepoint"), ("fabric", "MicrosoftFabric")):
        given = (spec.tool_options(tool) or {}).get("connection")
        if given:
            out.append({"name": given.rsplit("/", 1)[-1], "category": category, "target": "", "existing": given})
    return out


def project_connections(spec: ProjectSpec) -> list[dict[str, Any]]:
    """main.bicep's projectConnections: SharePoint and Fabric connections to create (not ones given by ARM id)."""
    out: list[dict[str, Any]] = []
    sharepoint = spec.tool_options("sharepoint")
    if sharepoint and sharepoint.get("site"):
        out.append({"name": CONNECTION_NAMES["sharepoint"], "category": "Sharepoint", "target": sharepoint["site"],
                    "metadata": {"ApiType": "Azure"}})
    fabric = spec.tool_options("fabric")
    if fabric and fabric.get("workspace"):
        workspace, artifact = fabric["workspace"], fabric["artifact"]
        out.append({"name": CONNECTION_NAMES["fabric"], "category": "MicrosoftFabric",
                    "target": f"https://api.fabric.microsoft.com/v1/workspaces/{workspace}/aiskills/{artifact}",
                    "metadata": {"ApiType": "Azure", "workspace-id": workspace, "artifact-id": artifact}})
    return out


# The chosen tools' settings the deployed container app gets (catalog/tools.yaml `deploy:`): main.bicep's
# @secure() parameter per `secret` setting (the container app keeps it as a Container Apps secret, read through
# secretRef), and the one setting main.bicep computes from the search service (`search`).
SECRET_PARAMS = {"APP_MCP_AUTH_TOKEN": "mcpAuthToken"}
SEARCH_ENDPOINT_SETTING = "AZURE_AI_SEARCH_ENDPOINT"


@dataclass(frozen=True)
class DeployedSetting:
    """One tool setting infra/main.bicep passes to the container app, and where its value comes from."""

    name: str
    source: Literal["azd", "search", "secret"]
    default: str = ""  # `azd`: the value when the azd environment has none (the app's own default)

    @property
    def binding(self) -> str:
        """The main.parameters.json value azd substitutes: `${NAME=default}` (`${NAME}` for a secret)."""
        if "}" in self.default:  # azd's envsubst ends the default at the first '}' (catalog patterns exclude it)
            raise ValueError(f"{self.name}: a default with '}}' cannot be bound in main.parameters.json")
        if self.source == "secret" or self.default == "":
            return f"${{{self.name}}}"
        return f"${{{self.name}={self.default}}}"


def embedding_deployment(spec: ProjectSpec) -> str:
    """The first deployment of a catalog embeddings model (file search embeds with it), or ""."""
    models = catalog.models()
    return next((m.name for m in spec.models if m.model in models and models[m.model].kind == "embeddings"), "")


def tool_setting_defaults(spec: ProjectSpec, settings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Tool settings whose defaults the spec decides.

    A catalog setting with `option:` takes that `--tool` option's value; file search's index is named after the
    project and embeds with the spec's embeddings deployment.
    """
    options = {key: value for t in spec.tools for key, value in t.options.items()}
    out: dict[str, Any] = {
        name: options[body["option"]]
        for name, body in settings.items()
        if body.get("option") and body["option"] in options
    }
    if "APP_SEARCH_INDEX" in settings:
        out["APP_SEARCH_INDEX"] = f"{spec.name}-files"
    if "APP_EMBEDDING_DEPLOYMENT" in settings:
        out["APP_EMBEDDING_DEPLOYMENT"] = embedding_deployment(spec)
    return out


def deployed_settings(spec: ProjectSpec) -> list[DeployedSetting]:
    """The chosen tools' settings the container app gets, in catalog order; none without a container app."""
    if spec.hosting != "container-apps":
        return []
    from scaffolder.tools import needs

    chosen: dict[str, dict[str, Any]] = needs(spec.runtime, [t.name for t in spec.tools])["settings"]
    defaults = tool_setting_defaults(spec, chosen)
    out = []
    for name, body in chosen.items():
        if body["deploy"] == "local":
            continue
        default = defaults.get(name, body["default"])
        text = str(default).lower() if isinstance(default, bool) else str(default)
        out.append(DeployedSetting(name, body["deploy"], "" if body["deploy"] == "secret" else text))
    return out


def _role_keys(spec: ProjectSpec, principal: Principal, scope: str) -> list[str]:
    return [BICEP_ROLE_KEYS[g.role.key] for g in grants(spec) if g.principal == principal and g.scope == scope]


def model_deployments(spec: ProjectSpec) -> list[dict[str, Any]]:
    """The modelDeployments parameter value, OpenAI-format models first.

    Deployments run one at a time and one failure stops the rest; partner models (Marketplace terms,
    narrower regions) fail more often, so they go last. The app's model is primaryModelDeployment.
    """
    ordered = sorted(spec.models, key=lambda m: m.format != "OpenAI")
    return [
        {
            "name": m.name,
            "model": m.model,
            "version": m.version,
            "format": m.format,
            "sku": m.sku,
            "capacity": m.capacity,
            "versionUpgrade": m.version_upgrade,
        }
        for m in ordered
    ]


# main.bicep's location metadata as the Bicep source carries it; `main_bicep` adds the spec's quota usages inside.
_LOCATION_METADATA = "    type: 'location'\n  }\n})\n"


def quota_usages(spec: ProjectSpec) -> list[str]:
    """The `usageName` entries of azd, `<usage name>,<capacity>`: each quota the deployments draw on, capacities summed.

    Deployments without a recorded quota usage (no fresh region list when they were added) are left out: a
    usage name Azure does not list would make azd's location prompt find no region at all.
    """
    totals: dict[str, int] = {}
    for dep in spec.models:
        if dep.quota_usage:
            totals[dep.quota_usage] = totals.get(dep.quota_usage, 0) + dep.capacity
    return [f"{usage},{capacity}" for usage, capacity in totals.items()]


def main_bicep(source: str, spec: ProjectSpec) -> str:
    """The repo's infra/main.bicep: the shipped file with the spec's quota usages in azd's location metadata.

    azd reads `usageName` only as constant strings (docs "Work with Azure Developer CLI metadata for Bicep input
    parameters", ms.date 2025-09-16), so the values are written into the file, as the official templates do.
    """
    entries = quota_usages(spec)
    if not entries:
        return source
    if source.count(_LOCATION_METADATA) != 1:
        raise ValueError("bicep/main.bicep lost its azd location metadata block")
    listed = "".join(f"      '{entry}'\n" for entry in entries)
    return source.replace(_LOCATION_METADATA, f"    type: 'location'\n    usageName: [\n{listed}    ]\n  }}\n}})\n")


def bicep_parameters(spec: ProjectSpec) -> dict[str, Any]:
    """Values of main.bicep's spec-driven parameters (environment, location and principal come from azd)."""
    deployed = deployed_settings(spec)
    return {
        "projectName": spec.name,
        "modelDeployments": model_deployments(spec),
        "primaryModelDeployment": spec.primary.name,
        "networkPosture": spec.network.posture,
        "allowedIpRanges": list(spec.network.allow_ips),
        "enableMonitoring": spec.monitoring,
        "hosting": spec.hosting,
        "appAccountRoles": _role_keys(spec, "app", "account"),
        "appProjectRoles": _role_keys(spec, "app", "project"),
        "developerAccountRoles": _role_keys(spec, "developer", "account"),
        "developerProjectRoles": _role_keys(spec, "developer", "project"),
        "projectIdentityAccountRoles": _role_keys(spec, "project", "account"),
        "tags": dict(spec.tags),
        "namingPattern": spec.naming.pattern.removesuffix("{token}"),
        "abbreviations": dict(spec.naming.abbreviations),
        "logRetentionInDays": spec.log_retention_days,
        # Azure AI Search (modules/ai-search.bicep, ai-search-roles.bicep): on when a tool or the agent setup uses it
        "agentSetup": spec.agent_setup,
        "aiSearch": spec.uses_search,
        "aiSearchResourceId": spec.search_resource_id if spec.uses_search else "",
        # the agents runtime's ai-search tool: a CognitiveSearch project connection (AAD) to that service
        "aiSearchConnection": spec.uses_search and spec.tool_options("ai-search") is not None,
        "projectConnections": project_connections(spec),
        "appSearchRoles": _role_keys(spec, "app", "search"),
        "projectSearchRoles": _role_keys(spec, "project", "search"),
        "developerSearchRoles": _role_keys(spec, "developer", "search"),
        # the chosen tools' settings for the container app (catalog `deploy: azd`), each bound to the azd
        # environment value of its name, so `azd env set NAME value` + `azd provision` changes the deployed app
        "appToolSettings": [{"name": s.name, "value": s.binding} for s in deployed if s.source == "azd"],
        "appSearchEndpoint": any(s.source == "search" for s in deployed),
    }


def name_limits() -> dict[str, int]:
    """Name length limit per naming kind, from the registry; main.bicep keeps the token whole and take()s the prefix."""
    from scaffolder.provisioning.registry import by_kind

    return {kind: entry.name_max for kind, entry in by_kind().items()}


TOKEN_LENGTH = 13  # uniqueString() always returns 13 characters


def resource_names(spec: ProjectSpec, environment: str, location: str, resource_token: str) -> dict[str, str]:
    """The names main.bicep computes, given the azd environment, region and uniqueString token.

    Mirrors main.bicep: the pattern before `{token}` with its tokens replaced, shortened to the type's
    limit minus the token, then the whole token (so no two resource groups share a global name).
    """
    prefix = (
        spec.naming.pattern.removesuffix("{token}")
        .replace("{project}", spec.name)
        .replace("{env}", environment)
        .replace("{region}", location)
    )
    names = {
        kind: prefix.replace("{abbr}", spec.naming.abbreviations[kind])[: limit - TOKEN_LENGTH] + resource_token
        for kind, limit in name_limits().items()
    }
    names["project"] = spec.name
    return names


def azd_parameters_file(spec: ProjectSpec) -> dict[str, Any]:
    """infra/main.parameters.json: spec values plus azd's ${VAR} substitutions for per-environment values."""
    azd = {
        "environmentName": "${AZURE_ENV_NAME}",
        "location": f"${{AZURE_LOCATION={spec.location}}}",
        "principalId": "${AZURE_PRINCIPAL_ID}",
        "principalType": f"${{AZURE_PRINCIPAL_TYPE={spec.principal_type}}}",
        # the audience callers get tokens for (README, "Deploy and call the API"); empty refuses every call
        "apiAuthAudience": "${APP_AUTH_AUDIENCE}",
        "apiAuthTenantId": "${AZURE_TENANT_ID}",
        # `azd env set AZURE_AI_RESTORE_SOFT_DELETED true` restores a soft-deleted Foundry resource of the same
        # name on the next `azd up`; azd turns the substituted string into the bool parameter's value
        # (armParameterFileValue, github.com/Azure/azure-dev cli/azd/pkg/infra/provisioning/bicep/bicep_provider.go)
        "restoreSoftDeleted": "${AZURE_AI_RESTORE_SOFT_DELETED=false}",
    }
    if spec.hosting == "container-apps":
        # azd records the image it deployed here, so a later `azd provision` keeps it (not the placeholder)
        azd["apiImageName"] = "${SERVICE_API_IMAGE_NAME}"
    for setting in deployed_settings(spec):
        if setting.source == "secret":  # a @secure() parameter: never a default, never written anywhere else
            azd[SECRET_PARAMS[setting.name]] = setting.binding
    values = {**azd, **bicep_parameters(spec)}
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": value} for name, value in values.items()},
    }


def app_env(spec: ProjectSpec) -> list[EnvVar]:
    """Env vars the generated app reads, in runtime-profile order, with examples filled from the spec."""
    table = catalog.envvars()
    known = {
        "AZURE_AI_MODEL_DEPLOYMENT": spec.primary.name,
        "AZURE_AI_MODEL_DEPLOYMENTS": json.dumps([m.name for m in spec.models]),
        "AZURE_AI_PROJECT_NAME": spec.name,
        "AZURE_AI_PROJECT_ENDPOINT": f"https://<account>.services.ai.azure.com/api/projects/{spec.name}",
    }
    out = []
    for name in catalog.runtimes()[spec.runtime].env:
        var = table[name]
        out.append(var.model_copy(update={"example": known[name]}) if name in known else var)
    return out
