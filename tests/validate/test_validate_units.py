"""Units of the validation stack: expression evaluation, string literals, findings order, schema backends."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scaffolder.validate import BicepTypes, Finding, SdkModels, sorted_findings
from scaffolder.validate._eval import Alt, Arr, Evaluator, Lit, Unknown, to_plain
from scaffolder.validate._model import load, string_value
from scaffolder.validate._project import azd_value
from scaffolder.validate.rules.no_secret_outputs import words as _words
from tests.conftest import examples


def _eval(tmp_path: Path, source: str, name: str = "x", **params: object) -> object:
    path = tmp_path / "t.bicep"
    path.write_text(source, encoding="utf-8")
    file = load(path)
    assert not file.root.has_error, source
    values = {k: Lit(v) if not isinstance(v, list) else Arr([]) for k, v in params.items()}  # type: ignore[arg-type]
    return Evaluator(file, values).variable(name)


def test_unique_string_stand_in_has_the_real_shape(tmp_path: Path) -> None:
    value = _eval(tmp_path, "var x = toLower(uniqueString(resourceGroup().id, 'env'))")
    assert isinstance(value, Lit) and isinstance(value.value, str)
    assert re.fullmatch(r"[a-z2-7]{13}", value.value)
    assert _eval(tmp_path, "var x = toLower(uniqueString(resourceGroup().id, 'env'))") == value
    assert _eval(tmp_path, "var x = uniqueString('other')") != value


def test_replace_keeps_a_string_whose_token_is_absent(tmp_path: Path) -> None:
    source = "param env string\nvar x = replace(replace('{project}-{token}', '{env}', env), '{project}', 'demo')"
    assert _eval(tmp_path, source) == Lit("demo-{token}")
    unknown = _eval(tmp_path, "param env string\nvar x = replace('{env}-a', '{env}', env)")
    assert isinstance(unknown, Unknown) and unknown.kind == "string"


def test_ternary_on_an_unknown_condition_keeps_both_branches(tmp_path: Path) -> None:
    source = "@allowed([\n  'a'\n  'b'\n])\nparam p string\nvar x = p == 'a' ? 'Deny' : 'Allow'"
    assert _eval(tmp_path, source) == Alt((Lit("Deny"), Lit("Allow")))
    assert _eval(tmp_path, source, p="a") == Lit("Deny")


def test_loops_expand_known_arrays_and_keep_a_representative_otherwise(tmp_path: Path) -> None:
    value = _eval(tmp_path, "var x = [for (n, i) in range(1, 3): {\n  v: n * 10\n  i: i\n}]")
    assert to_plain(value) == [{"v": 10, "i": 0}, {"v": 20, "i": 1}, {"v": 30, "i": 2}]
    open_value = _eval(tmp_path, "param xs array\nvar x = [for a in xs: {\n  value: a\n}]")
    assert isinstance(open_value, Arr) and open_value.open and len(open_value.items) == 1


def test_azd_substitutions() -> None:
    assert azd_value("${AZURE_LOCATION=eastus2}", (1, 1)) == Lit("eastus2")
    env = azd_value("${AZURE_ENV_NAME}", (1, 1))
    assert isinstance(env, Unknown) and env.kind == "string" and "AZURE_ENV_NAME" in env.origin
    assert isinstance(azd_value("pre-${X}", (1, 1)), Unknown)
    assert to_plain(azd_value({"a": [1, "${B=x}"]}, (1, 1))) == {"a": [1, "x"]}


def test_azd_converts_strings_for_bool_and_int_parameters_as_azd_does() -> None:
    # azd's armParameterFileValue: strconv.ParseBool for bool parameters, strconv.ParseInt for int ones;
    # what they refuse stays a string (and ARM refuses it for the typed parameter).
    for text, expected in (("false", False), ("true", True), ("1", True), ("F", False), ("TRUE", True)):
        assert azd_value(f"${{R={text}}}", (1, 1), "bool") == Lit(expected)
    assert azd_value("${R=no}", (1, 1), "bool") == Lit("no")
    assert azd_value("${R=yes}", (1, 1), "bool") == Lit("yes")
    assert azd_value("${N=42}", (1, 1), "int") == Lit(42)
    assert azd_value("${N=-7}", (1, 1), "int") == Lit(-7)
    assert azd_value("${N=4.5}", (1, 1), "int") == Lit("4.5")
    assert azd_value("true", (1, 1), "bool") == Lit(True)  # a plain string value is converted too
    assert azd_value("${R=false}", (1, 1), "string") == Lit("false")  # only bool and int parameters
    assert azd_value("${R=false}", (1, 1)) == Lit("false")
    unset = azd_value("${R}", (1, 1), "bool")
    assert isinstance(unset, Unknown) and unset.kind == "bool"
    # nested values are never converted (azd converts the parameter's top-level value only)
    assert to_plain(azd_value({"a": "${B=true}"}, (1, 1), "object")) == {"a": "true"}


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@settings(max_examples=examples(150), deadline=None)
@given(
    a=st.integers(-10_000, 10_000),
    b=st.integers(-10_000, 10_000).filter(lambda v: v != 0),
    op=st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">="]),
)
def test_integer_expressions_follow_arm_semantics(a: int, b: int, op: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        value = _eval(Path(tmp), f"var x = {a} {op} {b}")
    expected: object = {
        "+": a + b, "-": a - b, "*": a * b, "/": _c_div(a, b), "%": a - b * _c_div(a, b),
        "==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b,
    }[op]
    assert value == Lit(expected)  # type: ignore[arg-type]


def _bicep_literal(value: str) -> str:
    escaped = (value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
               .replace("\t", "\\t").replace("$", "\\$"))
    return f"'{escaped}'"


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from("\n\t'$\\{}"),
               max_size=40))
def test_string_literals_round_trip(value: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.bicep"
        path.write_text(f"var x = {_bicep_literal(value)}\n", encoding="utf-8")
        file = load(path)
        assert not file.root.has_error
        node = file.variables["x"].value
        assert node is not None
        assert string_value(node) == value


def test_findings_sort_by_place_then_rule_and_dedupe() -> None:
    a = Finding("types/x", "error", "b.bicep", 3, "m")
    b = Finding("semantics/y", "warning", "a.bicep", 9, "m", 2)
    c = Finding("policy/z", "error", "a.bicep", 9, "m", 1)
    assert sorted_findings([a, b, c, a]) == [c, b, a]
    assert str(b) == "a.bicep:9:2: warning [semantics/y] m"


def test_secret_words() -> None:
    assert _words("primaryKey1") >= {"primary", "key"}
    assert "key" not in _words("keyVaultUri")
    assert "secret" in _words("CLIENT_SECRET")
    assert not _words("APPLICATIONINSIGHTS_CONNECTION_STRING") & {"key", "secret", "password"}


def test_bicep_types_backend_reports_unknown_versions_and_providers(types_dir: Path) -> None:
    backend = BicepTypes(types_dir)
    ok = backend.resource("Microsoft.CognitiveServices/accounts", "2025-09-01")
    assert ok.body is not None and ok.problem == ""
    old = backend.resource("Microsoft.CognitiveServices/accounts", "2019-01-01")
    assert old.body is None and old.severity == "error" and "2025-06-01" in old.problem
    typo = backend.resource("Microsoft.CognitiveServices/acounts", "2025-09-01")
    assert typo.body is None and typo.severity == "error"
    # A provider the type data does not carry (../shared/bicep-types gained microsoft.storage): a warning.
    assert not (types_dir / "microsoft.web").exists()
    other = backend.resource("Microsoft.Web/sites", "2023-01-01")
    assert other.body is None and other.severity == "warning"


def test_sdk_backend_covers_cognitive_services_only() -> None:
    backend = SdkModels()
    assert backend.resource("Microsoft.CognitiveServices/accounts/projects", backend.api_version).body is not None
    assert backend.resource("Microsoft.Storage/storageAccounts", "2023-05-01").severity == "skip"
    assert backend.resource("Microsoft.CognitiveServices/accounts", "2019-01-01").severity == "warning"
