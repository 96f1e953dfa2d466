"""ProjectSpec validation: each rule accepts what Azure accepts and names what it refuses."""

from __future__ import annotations

import pytest

from scaffolder.catalog import Runtime
from scaffolder.errors import CatalogError, MissingValuesError, SpecError
from scaffolder.spec import check_deployment_name, check_project_name, load_answers, parse_model_option
from tests.helpers import make_spec


@pytest.mark.parametrize("name", ["ab", "demo", "chat-bot-2", "a" * 40])
def test_project_name_accepted(name: str) -> None:
    assert check_project_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("a", "2-40 characters"),
        ("a" * 41, "2-40 characters"),
        ("Demo", "lowercase"),
        ("1demo", "start with a letter"),
        ("demo-", "end with a letter or digit"),
        ("de_mo", "only lowercase letters, digits and hyphens"),
        ("de--mo", "consecutive hyphens"),
        ("class", "Python keyword"),
    ],
)
def test_project_name_refused_names_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        check_project_name(name)


@pytest.mark.parametrize("name", ["gpt-4.1-mini", "chat_1", "a.b", "x" * 64])
def test_deployment_name_accepted(name: str) -> None:
    assert check_deployment_name(name) == name


@pytest.mark.parametrize("name", ["x", "x" * 65, "-chat", "chat bot", "chat/1"])
def test_deployment_name_refused(name: str) -> None:
    with pytest.raises(ValueError, match="deployment name"):
        check_deployment_name(name)


def test_model_option_fills_from_catalog() -> None:
    dep = parse_model_option("gpt-4.1-mini")
    assert dep == {
        "model": "gpt-4.1-mini",
        "version": "2025-04-14",
        "format": "OpenAI",
        "sku": "GlobalStandard",
        "capacity": 10,
        "name": "gpt-4.1-mini",
    }


def test_model_option_overrides() -> None:
    dep = parse_model_option("gpt-4o@2024-08-06,sku=Standard,capacity=25,deployment=chat")
    assert (dep["version"], dep["sku"], dep["capacity"], dep["name"]) == ("2024-08-06", "Standard", 25, "chat")


def test_partner_model_defaults_to_capacity_one() -> None:
    dep = parse_model_option("Mistral-Large-2411")
    assert (dep["format"], dep["sku"], dep["capacity"]) == ("Mistral AI", "GlobalStandard", 1)


def test_unknown_model_suggests_close_matches() -> None:
    with pytest.raises(CatalogError, match=r"unknown model 'gpt4.1-mini'; did you mean gpt-4.1-mini"):
        parse_model_option("gpt4.1-mini")


def test_model_outside_catalog_needs_format_and_version() -> None:
    dep = parse_model_option("my-fine-tune@3,format=OpenAI")
    assert (dep["model"], dep["version"], dep["format"]) == ("my-fine-tune", "3", "OpenAI")
    with pytest.raises(CatalogError, match="unknown model 'my-fine-tune'") as err:
        parse_model_option("my-fine-tune@3")
    assert "--model NAME@VERSION,format=PUBLISHER" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpt-4.1@1999-01-01", "no known version '1999-01-01'"),
        ("Mistral-Large-2411,sku=Standard", "cannot be deployed with SKU 'Standard'"),
        ("gpt-4.1,capacity=lots", "capacity must be a whole number"),
        ("gpt-4.1,colour=blue", "unknown option 'colour=blue'"),
        ("gpt-4.1,format=Meta", "published as format 'OpenAI'"),
    ],
)
def test_model_option_errors(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_model_option(text)


def test_responses_refuses_partner_models_and_points_to_inference() -> None:
    with pytest.raises(SpecError) as err:
        make_spec("responses", models=["Mistral-small-2503"])
    text = str(err.value)
    assert text.startswith("Mistral-small-2503 is not served by the Responses API")
    assert "use --runtime inference" in text
    assert "gpt-5.4-mini" in text and "gpt-4.1-mini" not in text  # retired models are not suggested
    # A retired partner model: say so, and do not send the user to a runtime where `new` would refuse it.
    with pytest.raises(SpecError) as err:
        make_spec("responses", models=["Mistral-Large-2411"])
    text = str(err.value)
    assert "it is also retired" in text and "use --runtime" not in text


def test_inference_serves_partner_and_openai_models() -> None:
    spec = make_spec("inference", models=["Mistral-Large-2411", "gpt-4.1-mini"])
    assert [m.format for m in spec.models] == ["Mistral AI", "OpenAI"]
    assert spec.has_partner_models


def test_agents_region_list_excludes_westeurope() -> None:
    with pytest.raises(SpecError, match="Foundry Agent Service is not offered in westeurope"):
        make_spec("agents", location="westeurope")
    assert make_spec("inference", location="westeurope").location == "westeurope"


def test_unknown_region_suggests() -> None:
    with pytest.raises(SpecError, match="did you mean swedencentral"):
        make_spec("inference", location="swedencentrl")


def test_location_defaults_to_azure_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_LOCATION", "swedencentral")
    assert make_spec("responses", location=None).location == "swedencentral"
    monkeypatch.delenv("AZURE_LOCATION")
    assert make_spec("responses", location=None).location == "eastus2"


def test_missing_values_are_all_listed_with_their_flags() -> None:
    with pytest.raises(MissingValuesError) as err:
        make_spec(name=None, runtime=None)
    assert err.value.missing == [("name", "NAME argument"), ("runtime", "--runtime")]


def test_embeddings_model_cannot_be_primary() -> None:
    with pytest.raises(SpecError, match="embeddings model"):
        make_spec("responses", models=["text-embedding-3-small", "gpt-4.1"])
    assert make_spec("responses", models=["gpt-4.1", "text-embedding-3-small"]).primary.model == "gpt-4.1"


def test_duplicate_deployment_names_refused() -> None:
    with pytest.raises(SpecError, match=r"repeated: gpt-4\.1"):
        make_spec("responses", models=["gpt-4.1", "gpt-4.1,capacity=5"])


def test_ip_restricted_needs_public_ipv4_ranges() -> None:
    spec = make_spec(
        "responses", hosting="none", network="ip-restricted", allow_ips=["20.1.2.3", "52.10.0.0/16", "52.10.3.4/32"]
    )
    assert spec.network.allow_ips == ("20.1.2.3", "52.10.0.0/16", "52.10.3.4")
    with pytest.raises(SpecError, match="needs at least one --allow-ip"):
        make_spec("responses", hosting="none", network="ip-restricted")
    with pytest.raises(SpecError, match="private or loopback"):
        make_spec("responses", hosting="none", network="ip-restricted", allow_ips=["10.0.0.0/8"])
    with pytest.raises(SpecError, match="not an IPv4 address"):
        make_spec("responses", hosting="none", network="ip-restricted", allow_ips=["example.com"])
    with pytest.raises(SpecError, match="too wide"):
        make_spec("responses", hosting="none", network="ip-restricted", allow_ips=["0.0.0.0/0"])
    with pytest.raises(SpecError, match="only with --network ip-restricted"):
        make_spec("responses", allow_ips=["20.1.2.3"])


def test_ip_restricted_refuses_container_apps_hosting_with_a_hint() -> None:
    # The hosted app's outbound addresses are not in the firewall's ranges: every call would get 403.
    with pytest.raises(SpecError, match="Foundry firewall would block the hosted app") as caught:
        make_spec("agents", network="ip-restricted", allow_ips=["20.30.40.0/24"])
    assert caught.value.hint is not None and "--hosting none" in caught.value.hint
    assert make_spec("agents", network="ip-restricted", allow_ips=["20.30.40.0/24"], hosting="none").hosting == "none"
    assert make_spec("agents").hosting == "container-apps"


def test_capacity_bounds() -> None:
    with pytest.raises(SpecError, match="capacity"):
        make_spec("responses", models=["gpt-4.1,capacity=0"])
    with pytest.raises(SpecError, match="capacity"):
        make_spec("responses", capacity=0)  # 0 is a value, not "unset"
    with pytest.raises(CatalogError, match="nothing after '@'"):
        make_spec("responses", models=["gpt-5.4-mini@"])


def test_answers_round_trip(tmp_path) -> None:
    spec = make_spec("inference", models=["Mistral-Large-2411", "gpt-4.1"], monitoring=False)
    (tmp_path / ".scaffolder.yml").write_text(spec.to_answers("9.9.9"))
    loaded, version = load_answers(tmp_path)
    assert loaded == spec
    assert version == "9.9.9"
    assert loaded.runtime is Runtime.INFERENCE


def test_answers_file_errors(tmp_path) -> None:
    with pytest.raises(Exception, match="not a repo generated by foundry-scaffolder"):
        load_answers(tmp_path)
    (tmp_path / ".scaffolder.yml").write_text("spec: {name: X}\n")
    with pytest.raises(Exception, match=r"\.scaffolder\.yml"):
        load_answers(tmp_path)
