"""Properties of the diff and the env-file format, and the emulator's own body validation."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaffolder.provisioning.api import _parse_env, write_env_file
from scaffolder.provisioning.engine import diff
from scaffolder.provisioning.plan import Target
from tests.emulator import ArmEmulator, FakeCredential

json_leaf = st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=8))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=12,
)


@given(st.dictionaries(st.text(min_size=1, max_size=5), json_value, max_size=4))
def test_a_body_equals_itself_and_ignores_server_extras(body: dict[str, Any]) -> None:
    assert diff(body, body) == []
    assert diff(body, {**body, "provisioningStateX": "added by the server"}) == []


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), min_size=1))
def test_a_changed_leaf_is_reported_by_path(body: dict[str, int]) -> None:
    key = sorted(body)[0]
    changed = {**body, key: body[key] + 1}
    assert diff({"properties": body}, {"properties": changed}) == [f"properties.{key}"]


def test_write_only_paths_and_id_case() -> None:
    desired = {"properties": {"restore": False, "principalId": "ABC", "roleDefinitionId": "/Sub/X"}}
    actual = {"properties": {"principalId": "ABC", "roleDefinitionId": "/sub/x"}}
    assert diff(desired, actual, ("properties.restore",)) == []
    assert diff({"tags": {"a": "1"}}, {"tags": {"a": "1", "b": "2"}}) == ["tags"]  # tags are replaced as a whole
    assert diff({"sku": {"capacity": 1}}, {"sku": {"capacity": True}}) == ["sku.capacity"]


@given(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True), st.text(max_size=30), max_size=6))
def test_env_file_round_trips(values: dict[str, str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_env_file(Path(tmp), Target("s", "rg", "eastus2", "dev"), values)
        assert _parse_env(path.read_bytes().decode("utf-8")) == values
        assert "\r" not in path.read_bytes().decode("utf-8")


def _raw_account_put(arm: ArmEmulator, body: dict[str, Any]) -> Any:
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.resource.resources.models import ResourceGroup

    kw = {"base_url": arm.url, "connection_verify": arm.ca_path, "polling_interval": 0, "retry_total": 0}
    ResourceManagementClient(FakeCredential(), arm.subscription_id, **kw).resource_groups.create_or_update(
        "rg", ResourceGroup(location="eastus2")
    )
    client = CognitiveServicesManagementClient(FakeCredential(), arm.subscription_id, **kw)
    raw = io.BytesIO(json.dumps(body).encode())
    with pytest.raises(HttpResponseError) as err:
        client.accounts.begin_create("rg", "acct", raw).result()
    return err.value


def test_emulator_rejects_unknown_and_read_only_properties(arm: ArmEmulator, bicep_types_dir: Path) -> None:
    # The emulator names the read-only property from ../shared/bicep-types: without that data this skips.
    base = {"kind": "AIServices", "sku": {"name": "S0"}, "location": "eastus2", "properties": {}}
    unknown = _raw_account_put(arm, {**base, "properties": {"disableLocalAuthh": True}})
    assert unknown.status_code == 400 and "disableLocalAuthh" in str(unknown)
    read_only = _raw_account_put(arm, {**base, "properties": {"endpoint": "https://x"}})
    assert read_only.status_code == 400 and "endpoint" in str(read_only)
    assert any("read-only" in e for e in arm.validation_errors)
