"""The catalog data files are coherent, and the Bicep agrees with them (one place per fact, guarded)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scaffolder import catalog, infra
from scaffolder.catalog import Runtime

BICEP = Path(__file__).resolve().parents[1] / "bicep"


def test_every_model_is_consistent() -> None:
    for m in catalog.models().values():
        assert m.default_version in m.versions, m.name
        assert m.skus and m.default_capacity >= 1, m.name
        assert m.runtimes, m.name


def test_responses_and_agents_serve_openai_models_only() -> None:
    for runtime in (Runtime.RESPONSES, Runtime.AGENTS):
        assert {m.format for m in catalog.models_for(runtime)} == {"OpenAI"}
    formats = {m.format for m in catalog.models_for(Runtime.INFERENCE)}
    assert {"OpenAI", "Mistral AI", "Meta", "DeepSeek", "Cohere", "Microsoft", "xAI"} <= formats


def test_partner_models_deploy_as_global_standard() -> None:
    for m in catalog.models().values():
        if m.format != "OpenAI":
            assert m.skus == ("GlobalStandard",), m.name


def test_runtime_profiles_reference_known_roles_and_env_vars() -> None:
    roles, envvars = catalog.roles(), catalog.envvars()
    for profile in catalog.runtimes().values():
        for roleset in filter(None, [profile.roles, profile.partner_roles]):
            for grant in (*roleset.app, *roleset.developer, *roleset.project):
                assert grant.role in roles
        for name in profile.env:
            assert name in envvars
        assert set(profile.model_formats) >= {"OpenAI"}


def test_every_catalog_role_has_a_bicep_key() -> None:
    assert set(infra.BICEP_ROLE_KEYS) == set(catalog.roles())


def test_bicep_role_guids_match_roles_yaml_and_carry_their_names() -> None:
    text = (BICEP / "modules" / "role-assignments.bicep").read_text()
    pattern = r"//\s*(?P<name>[^:\n]+?)(?: \(formerly [^)]+\))?:[^\n]*\n\s*(?P<key>\w+): '(?P<guid>[0-9a-f-]{36})'"
    pairs = re.findall(pattern, text)
    assert pairs, "role map not found"
    by_key = {infra.BICEP_ROLE_KEYS[k]: r for k, r in catalog.roles().items()}
    elsewhere = {"monitoringMetricsPublisher", "logAnalyticsReader", "acrPull"}  # granted in their own modules
    # on the search service (ai-search-roles.bicep; tests/validate/test_data_services.py checks that map)
    elsewhere |= {"searchIndexDataReader", "searchIndexDataContributor", "searchServiceContributor"}
    # standard agent setup modules (agent-setup-roles.bicep, agent-setup-data-roles.bicep; same test file)
    elsewhere |= {
        "cosmosDbOperator", "storageBlobDataContributor", "storageBlobDataOwner", "cosmosDbBuiltInDataContributor",
    }
    assert {key for _, key, _ in pairs} == set(by_key) - elsewhere
    for name, key, guid in pairs:
        assert by_key[key].id == guid
        assert by_key[key].name == name.strip()
    monitoring = (BICEP / "modules" / "monitoring.bicep").read_text()
    publisher = catalog.roles()[infra.MONITORING_ROLE]
    assert f"var monitoringMetricsPublisher = '{publisher.id}'" in monitoring
    assert f"// {publisher.name}:" in monitoring
    reader = catalog.roles()[infra.TRACE_READER_ROLE]
    assert f"var logAnalyticsReader = '{reader.id}'" in monitoring and f"// {reader.name}:" in monitoring
    registry = (BICEP / "modules" / "container-registry.bicep").read_text()
    pull = catalog.roles()[infra.PULL_ROLE]
    assert f"var acrPull = '{pull.id}'" in registry and f"// {pull.name}:" in registry


def test_every_role_guid_in_bicep_has_a_name_comment() -> None:
    for path in BICEP.rglob("*.bicep"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.search(r"'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'", line):
                assert lines[i - 1].strip().startswith("//"), f"{path.name}:{i + 1} role GUID without a name comment"


@pytest.mark.parametrize("runtime", list(Runtime))
def test_runtime_regions_are_azure_regions(runtime: Runtime) -> None:
    assert set(catalog.runtime_regions(runtime)) <= set(catalog.azure_regions())


def test_responses_regions_match_docs() -> None:
    regions = catalog.runtime_regions(Runtime.RESPONSES)
    assert len(regions) == 25
    assert "westeurope" not in regions and "westus2" not in regions
    assert "eastus2" in regions and "swedencentral" in regions


def test_suggest_is_case_insensitive() -> None:
    assert catalog.suggest("MISTRAL-LARGE-2411", list(catalog.models()))[0] == "Mistral-Large-2411"


def test_lifecycle_states_on_given_days() -> None:
    import datetime as dt

    mini = catalog.models()["gpt-4.1-mini"]
    assert mini.status("2025-04-14", dt.date(2026, 1, 1)).state == "current"
    assert mini.status("2025-04-14", dt.date(2026, 5, 1)).state == "deprecated"
    assert mini.status("2025-04-14", dt.date(2026, 9, 1)).state == "retiring"
    retired = mini.status("2025-04-14", dt.date(2026, 10, 14))
    assert retired.state == "retired" and "suggested replacement (not from the source): gpt-5.4-mini" in retired.message
    assert retired.replacement == "gpt-5.4-mini"
    assert catalog.models()["gpt-5.4-mini"].status("2026-03-17", dt.date(2026, 11, 25)).state == "current"


def test_every_lifecycle_entry_names_a_known_version_and_replacement() -> None:
    models = catalog.models()
    for m in models.values():
        for version, life in m.lifecycle.items():
            assert version in m.versions, (m.name, version)
            # A replacement outside the catalog is allowed only as the source names it (shown "not in this catalog").
            assert life.replacement is None or life.replacement in models or life.replacement_by == "source", (
                m.name, life.replacement)
            assert life.source in catalog.sources(), (m.name, version, life.source)
            if life.deprecated and life.retires:
                assert life.deprecated < life.retires


def test_default_model_is_current_today() -> None:
    from scaffolder.spec import DEFAULT_MODEL, today

    m = catalog.models()[DEFAULT_MODEL]
    assert m.status(m.default_version, today()).state == "current"
