"""The evaluator's Bicep functions against the examples documented on learn.microsoft.com.

Sources (read 2026-11-29): https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-string,
.../bicep-functions-array and .../bicep-functions-object ("Example" sections; the expected values are the
documented outputs). A function that cannot match ARM must give an unknown value (which the concrete evaluator
turns into a file:line error), never a different value.
"""

from __future__ import annotations

import pytest

from scaffolder.validate._eval import BUILTINS, from_json, is_known, to_plain

DOCUMENTED: list[tuple[str, list[object], object]] = [
    # bicep-functions-string
    ("contains", ["OneTwoThree", "e"], True),
    ("contains", ["OneTwoThree", "z"], False),
    ("contains", [{"one": "a", "two": "b", "three": "c"}, "one"], True),
    ("contains", [{"one": "a", "two": "b", "three": "c"}, "a"], False),
    ("contains", [["one", "two", "three"], "three"], True),
    ("contains", [["one", "two", "three"], "four"], False),
    ("endsWith", ["abcdef", "ef"], True),
    ("endsWith", ["abcdef", "F"], True),
    ("endsWith", ["abcdef", "e"], False),
    ("startsWith", ["abcdef", "ab"], True),
    ("startsWith", ["abcdef", "A"], True),
    ("startsWith", ["abcdef", "e"], False),
    ("indexOf", ["test", "t"], 0),
    ("indexOf", ["abcdef", "CD"], 2),
    ("indexOf", ["abcdef", "z"], -1),
    ("lastIndexOf", ["test", "t"], 3),
    ("lastIndexOf", ["abcdef", "AB"], 0),
    ("padLeft", ["123", 10, "0"], "0000000123"),
    ("replace", ["123-123-1234", "-", ""], "1231231234"),
    ("replace", ["123-123-1234", "1234", "xxxx"], "123-123-xxxx"),
    ("skip", ["one two three", 4], "two three"),
    ("take", ["one two three", 2], "on"),
    ("split", ["one,two,three", ","], ["one", "two", "three"]),
    ("substring", ["one two three", 4, 3], "two"),
    ("toLower", ["One Two Three"], "one two three"),
    ("toUpper", ["One Two Three"], "ONE TWO THREE"),
    ("trim", ["    one two three   "], "one two three"),
    ("first", ["One Two Three"], "O"),
    ("last", ["One Two Three"], "e"),
    ("length", ["One Two Three"], 13),
    ("empty", [""], True),
    ("format", ["{0}, {1}.", "Hello", "User"], "Hello, User."),
    ("concat", ["prefix", "-", "suffix"], "prefix-suffix"),
    ("int", ["4"], 4),
    # bicep-functions-array
    ("length", [["a", "b", "c"]], 3),
    ("take", [["one", "two", "three"], 2], ["one", "two"]),
    ("skip", [["one", "two", "three"], 2], ["three"]),
    ("range", [1, 5], [1, 2, 3, 4, 5]),
    ("union", [["one", "two", "three"], ["three", "four"]], ["one", "two", "three", "four"]),
    ("concat", [["1-1", "1-2", "1-3"], ["2-1", "2-2", "2-3"]], ["1-1", "1-2", "1-3", "2-1", "2-2", "2-3"]),
    # bicep-functions-object: union merges nested objects recursively
    (
        "union",
        [{"property": {"one": "a", "two": "b", "three": "c1"}}, {"property": {"three": "c2", "four": "d"}}],
        {"property": {"one": "a", "two": "b", "three": "c2", "four": "d"}},
    ),
    ("length", [{"a": 1, "b": 2}], 2),
    # Object keys compare case-insensitively (bicep-functions-object#contains).
    ("contains", [{"Foo": 1}, "foo"], True),
    # .NET's invariant case mapping is one character to one character: ß stays ß.
    ("toUpper", ["straße"], "STRAßE"),
    ("toLower", ["STRAßE"], "straße"),
]

# Calls ARM fails (or formats in a way the evaluator does not reproduce): never a made-up value.
NOT_GUESSED: list[tuple[str, list[object]]] = [
    ("substring", ["abc", 1, 10]),
    ("substring", ["abc", 4]),
    ("substring", ["abc", -1, 1]),
    ("format", ["{0}, {1}. Formatted number: {2:N0}", "Hello", "User", 8175133]),
    ("format", ["{0} {3}", "a"]),
]


@pytest.mark.parametrize(("name", "args", "expected"), DOCUMENTED, ids=lambda v: str(v)[:30])
def test_builtin_matches_the_documented_example(name: str, args: list[object], expected: object) -> None:
    result = BUILTINS[name]([from_json(a, (0, 0)) for a in args])
    assert is_known(result), (name, args)
    assert to_plain(result) == expected


@pytest.mark.parametrize(("name", "args"), NOT_GUESSED, ids=lambda v: str(v)[:30])
def test_builtin_gives_no_value_where_arm_fails_or_formats_differently(name: str, args: list[object]) -> None:
    result = BUILTINS[name]([from_json(a, (0, 0)) for a in args])
    assert not is_known(result), to_plain(result)


def test_validate_does_not_pull_in_provisioning() -> None:
    """`check` runs the evaluator without the provisioning package (layering: provisioning uses validate)."""
    import subprocess
    import sys

    code = (
        "import sys, scaffolder.validate, scaffolder.validate._deploy, scaffolder.validate._eval; "
        "print(sorted(m for m in sys.modules if m.startswith('scaffolder.provisioning')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
