"""Each policy has a good and a bad fixture; our engine and (where it can) checkov agree on both."""

from __future__ import annotations

import pytest
import yaml

from scaffolder.validate import (
    POLICIES_DIR,
    RULE_BY_SLUG,
    RULES,
    Checkov,
    check_policies,
    check_semantics,
    check_syntax,
    load_project,
)
from tests.validate.cases import FIXTURES, expected_lines, fixture_dirs

SLUGS = [p.slug for p in RULES]
CHECKOV_SLUGS = [p.slug for p in RULES if p.checkov_ids]


def test_every_policy_has_fixtures_and_every_fixture_a_policy() -> None:
    assert [d.name for d in fixture_dirs()] == sorted(SLUGS)
    for folder in fixture_dirs():
        assert (folder / "good.bicep").is_file() and (folder / "bad.bicep").is_file(), folder.name
        engine, _ = expected_lines(folder / "bad.bicep")
        assert engine, f"{folder.name}/bad.bicep marks no line with `// expect`"


def test_checkov_yaml_policies_match_the_policy_table() -> None:
    shipped: dict[str, str] = {}
    for path in sorted(POLICIES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        shipped[doc["metadata"]["id"]] = path.stem
        assert doc["metadata"]["name"].startswith("Ensure "), path.name
    declared = {check: p.slug for p in RULES for check in p.checkov_ids}
    assert set(shipped) == set(declared)
    for check, stem in shipped.items():
        assert stem.startswith(declared[check]), f"{stem}.yaml implements {check} of policy {declared[check]}"
    for p in RULES:
        assert p.checkov_ids or p.checkov_gap, f"{p.slug}: say why checkov cannot express it"


def test_the_registry_gathers_one_module_per_rule() -> None:
    """Every module of scaffolder/validate/rules/ (but the private base) is one rule named after its file."""
    import importlib
    import pkgutil

    from scaffolder.validate import rules

    modules = sorted(m.name for m in pkgutil.iter_modules(rules.__path__) if not m.name.startswith("_"))
    assert modules == sorted(s.replace("-", "_") for s in SLUGS)
    assert len(set(SLUGS)) == len(SLUGS) == len(modules)
    for name in modules:
        rule = importlib.import_module(f"scaffolder.validate.rules.{name}").RULE
        assert rule is RULE_BY_SLUG[name.replace("_", "-")] and rule.title and callable(rule.check)


@pytest.mark.parametrize("slug", SLUGS)
def test_only_selects_rules(slug: str) -> None:
    """check_policies(only=...) runs the chosen rules alone: the bad fixture's findings are its rule's."""
    project = load_project(FIXTURES / slug / "bad.bicep")
    assert check_policies(project, only=lambda p: p.slug != slug) == []
    assert check_policies(project, only=lambda p: p.slug == slug) == check_policies(project)


@pytest.mark.parametrize("slug", SLUGS)
def test_good_fixture_passes_every_policy(slug: str) -> None:
    project = load_project(FIXTURES / slug / "good.bicep")
    assert check_syntax(project) == []
    assert [f for f in check_semantics(project) if f.severity == "error"] == []
    assert check_policies(project) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_bad_fixture_fails_exactly_its_policy_on_the_marked_lines(slug: str) -> None:
    path = FIXTURES / slug / "bad.bicep"
    project = load_project(path)
    assert check_syntax(project) == []
    findings = check_policies(project)
    want, _ = expected_lines(path)
    assert {f.line for f in findings if f.rule == f"policy/{slug}"} == want
    assert [f for f in findings if f.rule != f"policy/{slug}"] == [], "a bad fixture must break only its own rule"
    assert all(f.severity == "error" and f.file == "bad.bicep" for f in findings)


@pytest.mark.slow
@pytest.mark.parametrize("slug", CHECKOV_SLUGS)
def test_checkov_custom_policies_on_fixtures(slug: str, warm_checkov: Checkov) -> None:
    ids = set(RULE_BY_SLUG[slug].checkov_ids)
    folder = FIXTURES / slug
    good, bad = warm_checkov.scan([
        (f"{slug}/good.bicep", (folder / "good.bicep").read_bytes()),
        (f"{slug}/bad.bicep", (folder / "bad.bicep").read_bytes()),
    ])
    for report in (good, bad):
        assert report.parsing_errors == 0, f"pycep-parser could not read {report.file}: checkov skipped it"
    assert good.failed() == [], "good fixtures pass checkov's built-in checks and all our policies"
    assert ids <= {r.check_id for r in good.records if r.result == "passed"}, "our policy did not run"
    _, want = expected_lines(folder / "bad.bicep")
    assert {r.line for r in bad.failed() if r.check_id in ids} == want
