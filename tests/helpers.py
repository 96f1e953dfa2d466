"""Small helpers shared by the scaffolder's own tests."""

from __future__ import annotations

from typing import Any

from scaffolder._new import resolve_spec
from scaffolder.spec import ProjectSpec


def make_spec(runtime: str | None = "responses", **overrides: Any) -> ProjectSpec:
    """A valid spec through the same path the CLI uses (flags, no prompts)."""
    args: dict[str, Any] = {"name": "demo", "runtime": runtime, "location": "eastus2"}
    args.update(overrides)
    return resolve_spec(**args)


def storage_account(
    name: str = "'st${uniqueString(resourceGroup().id)}'", *, api_version: str = "2023-05-01", tags: str = ""
) -> str:
    """A keyless storage account declaration (`resource storage ...`), as a user adds one by hand to infra/.

    A type the generated Bicep does not use: the tests that need "a resource the tool has no code for" share it.
    """
    tag_line = f"  tags: {tags}\n" if tags else ""
    return (
        f"resource storage 'Microsoft.Storage/storageAccounts@{api_version}' = {{\n"
        f"  name: {name}\n"
        "  location: location\n"
        f"{tag_line}"
        "  kind: 'StorageV2'\n"
        "  sku: {\n"
        "    name: 'Standard_LRS'\n"
        "  }\n"
        "  properties: {\n"
        "    allowSharedKeyAccess: false\n"
        "    minimumTlsVersion: 'TLS1_2'\n"
        "    supportsHttpsTrafficOnly: true\n"
        "  }\n"
        "}\n"
    )


# A storage module's file: the account above behind a `location` parameter.
STORAGE_MODULE_FILE = "@description('Where the account lives.')\nparam location string\n\n" + storage_account()
