"""Recommend a runtime from a few answers; questions, rules and consequences are data (catalog/decision.yaml)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from scaffolder import catalog
from scaffolder.catalog import Runtime
from scaffolder.errors import SpecError, yaml_problem
from scaffolder.prompts import Prompter, Question, resolve

NOT_ASKED = "not asked"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionQuestion(_Frozen):
    """One question of the runtime decision."""

    key: str
    text: str
    choices: tuple[str, ...]
    flag: str


class DecisionRule(_Frozen):
    """When all `when` answers match: require a runtime and/or add preference weights."""

    when: dict[str, str]
    reason: str
    require: Runtime | None = None
    prefer: dict[Runtime, int] = {}


class DecisionData(_Frozen):
    """The whole decision table."""

    order: tuple[Runtime, ...]
    questions: tuple[DecisionQuestion, ...]
    rules: tuple[DecisionRule, ...]
    gives_up: dict[Runtime, tuple[str, ...]]


@cache
def decision_data() -> DecisionData:
    """Load and validate catalog/decision.yaml."""
    raw = catalog._load("decision.yaml")
    questions = [DecisionQuestion(key=k, **v) for k, v in raw["questions"].items()]
    return DecisionData(order=raw["order"], questions=questions, rules=raw["rules"], gives_up=raw["gives_up"])


@dataclass(frozen=True)
class Recommendation:
    """A runtime, the reasons tied to the answers, and what choosing it gives up."""

    runtime: Runtime
    answers: dict[str, str]
    reasons: tuple[str, ...]
    trade_offs: tuple[str, ...]
    gives_up: tuple[str, ...]
    conflicts: tuple[str, ...]
    scores: dict[str, int] = field(default_factory=dict)
    tools: tuple[str, ...] = ()
    # The `--tool` texts as given (`mcp,url=...,label=...`), by tool name: the command keeps their values.
    tool_flags: dict[str, str] = field(default_factory=dict)

    def tool_args(self) -> str:
        """The `--tool` flags of the wanted tools the runtime offers: as given, else a complete example.

        Each value is shell-quoted: the printed command is meant to be pasted, and option values may hold ';', '&',
        '$' or spaces (`allowed_tools=a;b`, `instructions=Be brief`).
        """
        from scaffolder.tools import example_flag

        return "".join(
            " --tool " + shlex.quote(self.tool_flags[t] if self.tool_flags.get(t, t) != t
                                     else example_flag(catalog.tools()[t]).removeprefix("--tool "))
            for t in self.tools
            if not catalog.tools()[t].always and catalog.tools()[t].offer(self.runtime) != "none"
        )

    def command(self, name: str = "NAME") -> str:
        """The command that generates the recommended repo (with the wanted tools the runtime offers)."""
        return f"scaffolder new {shlex.quote(name)} --runtime {self.runtime.value}{self.tool_args()}"

    @property
    def left_out(self) -> tuple[str, ...]:
        """Wanted tools the recommended runtime does not offer (so its command leaves them out)."""
        return tuple(t for t in self.tools if catalog.tools()[t].offer(self.runtime) == "none")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "runtime": self.runtime.value,
            "title": catalog.runtimes()[self.runtime].title,
            "answers": self.answers,
            "reasons": list(self.reasons),
            "trade_offs": list(self.trade_offs),
            "gives_up": list(self.gives_up),
            "conflicts": list(self.conflicts),
            "scores": self.scores,
            "tools": list(self.tools),
            "command": self.command(),
        }


def validate_answers(answers: Mapping[str, Any], source: Path | None = None) -> dict[str, str]:
    """Normalise answers (bools become yes/no) and refuse unknown questions or choices.

    `source` is the answers file they came from: the error names it, and its hint says what to write there
    (a file has no flags to use).
    """
    data = decision_data()
    by_key = {q.key: q for q in data.questions}
    out: dict[str, str] = {}
    where = f"answers file {source}: " if source is not None else ""
    for key, value in answers.items():
        if value is None:
            continue
        q = by_key.get(key)
        if q is None:
            close = catalog.suggest(str(key), list(by_key), n=1)
            did = f"did you mean {close[0]!r}? " if close else ""
            fix = (f"rename it to {close[0]!r}" if close else "remove it") + (
                f" in {source}" if source is not None else "")
            raise SpecError(f"{where}unknown question {key!r}; {did}questions: {', '.join(by_key)}", hint=fix)
        text = ("yes" if value else "no") if isinstance(value, bool) else str(value).strip().lower()
        # y/n (and any unambiguous start: l for later) as people type at a prompt; "n" is ambiguous for now/no.
        starts = [c for c in q.choices if text and c.startswith(text)]
        if text not in q.choices and len(starts) == 1:
            text = starts[0]
        if text not in q.choices:
            hint = (f"write e.g. `{key}: {q.choices[0]}` in {source}" if source is not None
                    else f"use {q.flag} {q.choices[0]}")
            raise SpecError(f"{where}{key}: {text!r} is not one of {', '.join(q.choices)}", hint=hint)
        out[key] = text
    return out


def recommend(answers: Mapping[str, Any], tools: Sequence[str] = ()) -> Recommendation:
    """Apply the rules to the answers; unanswered questions simply fire no rule.

    Wanted tools (catalog names) are a hard need: only runtimes that offer all of them are candidates; when no
    runtime offers them all, the answers decide and the conflict says which runtime offers which tool.
    """
    from scaffolder.tools import known_tool, offered_text, runtimes_offering

    given = validate_answers(answers)
    wanted: list[str] = []
    # `--tool NAME[,key=value...]`: the name decides; the whole text is kept for the suggested command
    flags = {t.split(",", 1)[0].strip().lower(): t.strip() for t in tools}
    for name in flags:
        try:
            known_tool(name)
        except ValueError as exc:
            raise SpecError(str(exc), hint="use --tool NAME; `scaffolder tools` lists them") from None
        wanted.append(name)
    data = decision_data()
    fired = [r for r in data.rules if all(given.get(k) == v for k, v in r.when.items())]
    scores = {rt: 0 for rt in data.order}
    for rule in fired:
        for rt, weight in rule.prefer.items():
            scores[rt] += weight
    required: dict[Runtime, list[DecisionRule]] = {}
    for rule in fired:
        if rule.require is not None:
            required.setdefault(rule.require, []).append(rule)
    candidates = list(required) if required else list(data.order)
    titles = {rt: p.title for rt, p in catalog.runtimes().items()}
    conflicts = []
    tool_reasons: tuple[str, ...] = ()
    special = [n for n in wanted if not catalog.tools()[n].always]
    if special:
        able = runtimes_offering(special)
        if able:
            # The tools narrow the answers' candidates; when the answers required another runtime, the tools win
            # only if no answer-required runtime offers them (said as a conflict).
            narrowed = [rt for rt in candidates if rt in able]
            if not narrowed:
                conflicts.append(
                    f"the wanted tools ({', '.join(special)}) are offered only by {', '.join(r.value for r in able)}, "
                    "which the other answers rule out; consider that runtime for the tools, or revisit the answers")
            candidates = narrowed or able
            tool_reasons = tuple(
                f"the wanted tool {n} is {offered_text(catalog.tools()[n])}" for n in special
            )
        else:
            conflicts.append(
                "no runtime offers all the wanted tools together: "
                + "; ".join(f"{n}: {offered_text(catalog.tools()[n])}" for n in special)
            )
    # Most hard needs met first, then preference weight, then the table's order (simplest managed first).
    chosen = max(candidates, key=lambda rt: (len(required.get(rt, [])), scores[rt], -data.order.index(rt)))
    for rt, rules in required.items():
        if rt != chosen:
            for rule in rules:
                conflicts.append(
                    f"{_answer_text(rule)} needs {titles[rt]}, but {titles[chosen]} was chosen for the other "
                    f"needs: {rule.reason}; consider {titles[rt]} for that part, or revisit the answer"
                )
    reasons = tool_reasons + tuple(r.reason for r in fired if r.require == chosen or r.prefer.get(chosen, 0) > 0)
    trade_offs = tuple(
        f"{_answer_text(r)}: {r.reason}"
        for r in fired
        if r.require is None and r.prefer and r.prefer.get(chosen, 0) == 0
    )
    if given.get("models") in ("now", "later"):
        reasons += (_partner_capabilities(),)
    if not reasons:
        reasons = (f"no answer needs more than {titles[chosen]} offers; it is the simplest runtime here",)
    return Recommendation(
        runtime=chosen,
        answers={q.key: given.get(q.key, NOT_ASKED) for q in data.questions},
        reasons=reasons,
        trade_offs=trade_offs,
        gives_up=data.gives_up[chosen],
        conflicts=tuple(conflicts),
        scores={rt.value: s for rt, s in scores.items()},
        tools=tuple(wanted),
        tool_flags={name: flags[name] for name in wanted},
    )


def _partner_capabilities() -> str:
    """The catalog's word on non-OpenAI models: which runtimes serve them and which can call tools (current only)."""
    from scaffolder.spec import today

    day = today()
    partner = [m for m in catalog.models().values()
               if m.format != "OpenAI" and m.kind == "chat" and m.status(m.default_version, day).state == "current"]
    served = sorted({r.value for m in partner for r in m.runtimes})
    tools = [m.name for m in partner if m.tool_calling]
    return (f"per the model catalog, current non-OpenAI models ({', '.join(m.name for m in partner)}) are served by "
            f"{', '.join(served)} only; with tool calling: {', '.join(tools) or 'none'}")


def decision_questions() -> list[Question]:
    """The decision questions as prompt questions (answers validated as typed; Enter skips one)."""

    def validator(q: DecisionQuestion) -> Callable[[Any, dict[str, Any]], str]:
        def check(value: Any, answers: dict[str, Any]) -> str:
            if value in (None, "", NOT_ASKED):
                return NOT_ASKED
            return validate_answers({q.key: value})[q.key]

        return check

    def choices(q: DecisionQuestion) -> Callable[[dict[str, Any]], list[tuple[str, str]]]:
        return lambda answers: [(c, "") for c in q.choices]

    def no_default(answers: dict[str, Any]) -> str | None:
        return None  # Enter leaves the question unanswered ("not asked"): it then fires no rule

    return [
        Question(q.key, q.flag, f"{q.text} [Enter: skip]", default=no_default, choices=choices(q),
                 validate=validator(q))
        for q in decision_data().questions
    ]


def ask(prompter: Prompter, given: Mapping[str, Any] | None = None, tools: Sequence[str] = ()) -> Recommendation:
    """Ask the unanswered decision questions through the prompter and recommend from all answers (and tools)."""
    answers = resolve(decision_questions(), dict(given or {}), prompter)
    return recommend({k: v for k, v in answers.items() if v != NOT_ASKED}, tools=tools)


def _answer_text(rule: DecisionRule) -> str:
    return ", ".join(f"{k}={v}" for k, v in rule.when.items())


def load_answers_file(path: Path) -> dict[str, str]:
    """Read answers from a YAML or JSON file (a mapping of question -> answer)."""
    from scaffolder import safeio

    _, text = safeio.read_config(path, SpecError, "answers file")
    try:
        doc = safeio.load_yaml(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"answers file {yaml_problem(path, exc)}", hint="fix the file, or save it again with "
                        "`scaffolder recommend --save FILE`") from None
    if isinstance(doc, dict) and isinstance(doc.get("answers"), dict):
        doc = doc["answers"]  # the JSON that `scaffolder recommend --json` prints
    if not isinstance(doc, dict):
        raise SpecError(f"answers file {path} must hold a mapping of question: answer")
    return validate_answers({k: v for k, v in doc.items() if v != NOT_ASKED}, source=path)
