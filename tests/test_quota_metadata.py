"""main.bicep's azd location metadata: one usageName entry per quota the spec's deployments draw on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scaffolder import infra
from scaffolder._resources import bicep_dir
from scaffolder.spec import ModelDeployment, build_spec


def _dep(name: str, usage: str | None, capacity: int) -> dict[str, object]:
    return {"name": name, "model": "gpt-5.4-mini", "version": "2026-03-17", "format": "OpenAI",
            "capacity": capacity, "quota_usage": usage}


def test_capacities_drawing_on_one_quota_are_summed_and_unknown_ones_left_out() -> None:
    spec = build_spec({"name": "bot", "runtime": "inference", "models": [
        _dep("d-a", "OpenAI.GlobalStandard.gpt54-mini", 10), _dep("d-b", "OpenAI.GlobalStandard.gpt54-mini", 25),
        _dep("d-c", None, 5)]})
    assert infra.quota_usages(spec) == ["OpenAI.GlobalStandard.gpt54-mini,35"]
    text = infra.main_bicep((bicep_dir() / "main.bicep").read_text(), spec)
    assert text.count("usageName:") == 1 and "      'OpenAI.GlobalStandard.gpt54-mini,35'\n    ]\n  }\n})\n" in text


def test_no_usage_names_leaves_the_shipped_file_byte_for_byte() -> None:
    spec = build_spec({"name": "bot", "runtime": "inference", "models": [_dep("d-a", None, 10)]})
    source = (bicep_dir() / "main.bicep").read_text()
    assert infra.main_bicep(source, spec) == source


def test_a_source_without_the_metadata_block_is_an_error_not_a_silent_skip() -> None:
    spec = build_spec({"name": "bot", "runtime": "inference", "models": [_dep("d-a", "OpenAI.Standard.x", 10)]})
    with pytest.raises(ValueError, match="location metadata"):
        infra.main_bicep("param location string\n", spec)


@pytest.mark.parametrize("usage", ["x'", "a b", "", "-lead", "a" * 129, "x\n"])
def test_a_usage_name_is_a_plain_token(usage: str) -> None:
    with pytest.raises(ValidationError):
        ModelDeployment.model_validate(_dep("d-a", usage, 10))
