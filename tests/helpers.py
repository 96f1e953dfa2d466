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
