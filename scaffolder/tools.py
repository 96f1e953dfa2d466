"""Tools of a generated repo: parse `--tool NAME[,k=v...]`, validate against the catalog, and list per runtime."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scaffolder import catalog
from scaffolder.catalog import CatalogTool, Runtime
from scaffolder.errors import SpecError

TOOL_FLAG_FORMAT = "--tool NAME[,key=value...] (',' separates the pairs)"


def parse_tool_option(text: str) -> dict[str, Any]:
    """`NAME[,key=value...]` -> {"name": NAME, "options": {key: value}}; the catalog checks come later.

    Values cannot hold ',' (it separates the pairs); a tool whose option lists several values uses ';'.
    """
    head, *pairs = [part.strip() for part in text.split(",")]
    if not head:
        raise SpecError(f"--tool {text!r}: no tool name", hint=f"use {TOOL_FLAG_FORMAT}; `scaffolder tools` lists them")
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"--tool {text!r}: {pair!r} is not key=value",
                            hint=f"use {TOOL_FLAG_FORMAT}; a value cannot contain ','")
        if key in options:
            raise SpecError(f"--tool {text!r}: option {key!r} given twice")
        options[key] = value.strip()
    return {"name": head.lower(), "options": options}


def tool_option(name: str, options: Mapping[str, str]) -> str:
    """The `--tool` text that parses back to a recorded tool (parse_tool_option's inverse).

    Empty values are left out, so the catalog default applies again.
    """
    return ",".join([name, *(f"{k}={v}" for k, v in options.items() if v)])


class OfferError(ValueError):
    """A tool the runtime does not offer: the fix is a runtime or leaving the tool out, not another --tool."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def changed_tools(
    recorded: Sequence[tuple[str, Mapping[str, str]]], add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[str]:
    """The `--tool` texts of a repo after `update --tool TEXT` / `--remove-tool NAME` (the catalog checks come later).

    A tool added again takes the options given now (the others' stay as recorded). A repeatable tool (a specialist
    agent) has one instance per `name=`: `--tool agent,name=x` adds specialist x or changes its options, and
    `--remove-tool agent,name=x` removes that one (`--remove-tool agent`: all of them). Removing a tool the repo does
    not have, or adding and removing the same one, is one clear error (SpecError, exit 2).
    """

    def key(name: str, options: Mapping[str, str]) -> str:
        repeatable = name in catalog.tools() and catalog.tools()[name].repeatable
        return f"{name},name={options.get('name', '')}" if repeatable else name

    current = {key(name, options): tool_option(name, options) for name, options in recorded}
    added = [parse_tool_option(text) for text in add]
    added_keys = {key(a["name"], a["options"]) for a in added}
    for text in remove:
        gone = parse_tool_option(text)
        name = gone["name"]
        try:
            tool = known_tool(name)
        except ValueError as exc:
            raise SpecError(f"--remove-tool: {exc}") from None
        if tool.always:
            raise SpecError(f"--remove-tool {name}: {name} tools are always on (the app's own functions in tools.py); "
                            "they cannot be removed", hint=f"edit TOOLS in tools.py to change the {name} tools")
        if set(gone["options"]) - ({"name"} if tool.repeatable else set()):
            raise SpecError(f"--remove-tool {text.strip()!r}: give the tool's name"
                            + (" and, for one instance, name=" if tool.repeatable else ""),
                            hint=f"e.g. --remove-tool {name}" + (f" or --remove-tool {name},name=NAME"
                                                                 if tool.repeatable else ""))
        targets = [k for k in current
                   if k == key(name, gone["options"]) or (tool.repeatable and "name" not in gone["options"]
                                                          and k.startswith(f"{name},name="))]
        if any(k in added_keys for k in targets) or (not tool.repeatable and name in added_keys):
            raise SpecError(f"--tool {name} and --remove-tool {text.strip()} both given", hint="give one of them")
        if not targets:
            has = ", ".join(current) or "none besides the function tools"
            which = f"{name} tool with name={gone['options']['name']}" if "name" in gone["options"] else f"{name} tool"
            raise SpecError(f"--remove-tool {text.strip()}: this repo has no {which} (its tools: {has})",
                            hint="`.scaffolder.yml` records the repo's tools")
        for k in targets:
            del current[k]
    for text, parsed in zip(add, added, strict=True):
        current[key(parsed["name"], parsed["options"])] = text.strip()  # the given options replace the recorded ones
    return list(current.values())


def known_tool(name: str) -> CatalogTool:
    """The catalog entry of a tool name; an unknown one is one clear error with close matches."""
    tools = catalog.tools()
    if name in tools:
        return tools[name]
    close = catalog.suggest(name, list(tools))
    did = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown tool {name!r}{did} (tools: {', '.join(tools)})")


def offered_text(tool: CatalogTool) -> str:
    """Which runtimes offer the tool, as a phrase for an error message."""
    offering = tool.offered_by()
    if not offering:
        return "no runtime of this foundry-scaffolder version generates it yet"
    return "offered by " + ", ".join(f"{r.value} ({tool.offer(r)})" for r in offering)


def check_tool(name: str, options: Mapping[str, str], runtime: Runtime) -> dict[str, str]:
    """Validate one tool for a runtime; returns its options with defaults filled in.

    Raises ValueError (the spec turns it into a SpecError, exit 2) naming what is wrong and what is valid.
    """
    tool = known_tool(name)
    if tool.always:
        raise ValueError(f"{name} tools are always generated (tools.py); do not list them with --tool")
    if tool.docs_only:
        raise ValueError(f"{name} is described in the generated README only, never generated as code: "
                         f"{tool.why.get(runtime, tool.summary)}")
    if tool.offer(runtime) == "none":
        title = catalog.runtimes()[runtime].title
        why = tool.why.get(runtime, "")
        others = [r for r in tool.offered_by() if r != runtime]
        alt = f"; use --runtime {others[0].value}" if others else ""
        fix = f"choose --runtime {others[0].value}, or leave {name} out" if others else f"leave {name} out"
        raise OfferError(f"{name} is not offered on the {title}: {why}; {offered_text(tool)}{alt}",
                         hint=f"{fix} (`scaffolder tools` lists the tools per runtime)")
    out: dict[str, str] = {}
    for key, value in options.items():
        spec = tool.options.get(key)
        if spec is None:
            valid = ", ".join(tool.options) or "none"
            close = catalog.suggest(key, list(tool.options))
            did = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"{name}: unknown option {key!r}{did} (options: {valid})")
        if not value:  # review-15 MEDIUM-16: required means non-empty; an empty optional value means its default
            if spec.required:
                raise ValueError(f"{name}: {key}= is empty; it is required: {spec.description} "
                                 f"(e.g. {example_flag(tool)})")
            if spec.default is not None:
                continue  # filled with the default below
        if spec.choices is not None and value not in spec.choices:
            raise ValueError(f"{name}: {key}={value!r} is not one of {', '.join(spec.choices)}")
        if refusal := spec.refused.get(runtime, {}).get(value):
            able = [r.value for r in tool.offered_by() if r != runtime and value not in spec.refused.get(r, {})]
            alt = f"; use --runtime {' or '.join(able)}" if able else ""
            # An OfferError: the fix is another value or another runtime, not a generic "fix it with --tool".
            raise OfferError(f"{name}: {key}={value} is not possible on the {catalog.runtimes()[runtime].title}: "
                             f"{refusal}{alt}", hint=f"give {name} another {key}= or choose another runtime")
        if spec.pattern is not None and value and not re.fullmatch(spec.pattern, value):
            raise ValueError(f"{name}: {key}={value!r} is not valid: {spec.description}")
        if tool.offer(runtime) == "native" and value.lower().startswith("http://"):
            # A native tool is called by the service from Azure, which requires TLS: plain http only works
            # where the app itself calls the server (a local server on the inference runtime).
            app_side = [r.value for r in tool.offered_by() if tool.offer(r) != "native"]
            alt = f" (plain http is only for a local server with --runtime {', '.join(app_side)})" if app_side else ""
            raise ValueError(f"{name}: {key}={value!r}: the {catalog.runtimes()[runtime].title} calls it from "
                             f"Azure and needs an https:// URL{alt}")
        out[key] = value
    for key, spec in tool.options.items():
        if key in out:
            continue
        if spec.required:
            raise ValueError(f"{name} needs {key}=...: {spec.description} (e.g. {example_flag(tool)})")
        if spec.default is not None:
            out[key] = spec.default
    _check_groups(tool, {k for k, v in out.items() if v})
    return {k: out[k] for k in tool.options if k in out}


def _check_groups(tool: CatalogTool, given: set[str]) -> None:
    """The catalog's option groups: `exclusive` (at most one), `together` (all or none), `require_any` (one)."""
    def flags(group: Sequence[str]) -> str:
        return " or ".join(f"{k}=..." for k in group)

    for group in tool.exclusive:
        if len(given.intersection(group)) > 1:
            raise ValueError(f"{tool.name}: give {flags(group)}, not both")
    for group in tool.together:
        if 0 < len(given.intersection(group)) < len(group):
            raise ValueError(f"{tool.name}: {' and '.join(group)} go together; give both")
    for group in tool.require_any:
        if not given.intersection(group):
            described = "; ".join(f"{k}: {tool.options[k].description}" for k in group)
            raise ValueError(f"{tool.name} needs {flags(group)} ({described})")


def check_tools(names: Sequence[str]) -> None:
    """Whole-list rules: each tool at most once.

    The template context is keyed by name; the catalog's `limits.max_per_agent` of 1 (SharePoint, Fabric) is then
    met too.
    """
    for name in dict.fromkeys(names):
        count = names.count(name)
        if count > 1 and name in catalog.tools() and catalog.tools()[name].repeatable:
            continue  # one instance per flag (e.g. one specialist agent each); check_repeated compares them
        if count > 1:
            limit = catalog.tools()[name].limits.max_per_agent if name in catalog.tools() else None
            extra = f" (the platform allows {limit} per agent)" if limit else ""
            raise ValueError(f"--tool {name} is given {count} times; each tool at most once{extra}")


def check_repeated(name: str, instances: Sequence[Mapping[str, str]], main_agent: str) -> None:
    """Instances of a repeatable tool (`--tool agent,name=...` given several times) need distinct names.

    A specialist named like the main agent would be the main agent itself (the agent name defaults to the project's).
    """
    seen: set[str] = set()
    for options in instances:
        key = options.get("name", "")
        if key in seen:
            raise ValueError(f"--tool {name},name={key} is given twice; each {name} needs its own name=")
        if key == main_agent.lower():
            raise ValueError(f"--tool {name},name={key}: that is the main agent's name (the project's); "
                             "give the specialist another name")
        seen.add(key)


def check_connections(options: Mapping[str, Mapping[str, str]]) -> None:
    """One existing project connection backs at most one tool.

    A connection has one category (CognitiveSearch, Sharepoint, MicrosoftFabric...), so the same ARM id on two
    tools is always a mistake the service refuses.
    """
    seen: dict[str, str] = {}
    for name, opts in options.items():
        arm_id = opts.get("connection", "")
        if not arm_id:
            continue
        other = seen.setdefault(arm_id.lower(), name)  # ARM ids compare case-insensitively
        if other != name:
            raise ValueError(f"{other} and {name} are given the same connection={arm_id}: a project connection has "
                             "one category, so each tool needs its own connection")


def example_flag(tool: CatalogTool) -> str:
    """A complete `--tool` flag that passes the checks (review-15 LOW-9).

    Every required option, one option of each `require_any` group and its `together` partners, with the catalog's
    example values (`KEY` where none).
    """
    keys = [k for k, o in tool.options.items() if o.required]
    for group in tool.require_any:
        if not set(group) & set(keys):
            keys.append(group[0])
    for group in tool.together:
        if set(group) & set(keys):
            keys += [k for k in group if k not in keys]
    values = [f"{k}={tool.options[k].example or k.upper()}" for k in tool.options if k in keys]
    return "--tool " + ",".join([tool.name, *values])


def listing(runtime: Runtime | None = None) -> list[dict[str, Any]]:
    """The catalog as rows for `scaffolder tools`: per tool, each runtime's offer (and why not), options, sources."""
    runtimes = [runtime] if runtime else list(Runtime)
    sources = catalog.tool_sources()
    rows = []
    for tool in catalog.tools().values():
        rows.append({
            "name": tool.name,
            "title": tool.title,
            "summary": tool.summary,
            "preview": tool.preview,
            "always": tool.always,
            "docs_only": tool.docs_only,
            "runtimes": {
                r.value: {"offer": tool.offer(r), **({"why": tool.why[r]} if tool.offer(r) == "none" and r in tool.why
                                                     else {}),
                          **({"caveat": tool.caveats[r]} if tool.offer(r) != "none" and r in tool.caveats else {})}
                for r in runtimes
            },
            "options": {k: o.model_dump(exclude_none=True) for k, o in tool.options.items()},
            "flag": example_flag(tool) if not tool.always and not tool.docs_only else None,
            "sources": [{"title": sources[s].title, "url": sources[s].url, "ms_date": sources[s].ms_date.isoformat()}
                        for s in tool.sources],
        })
    return rows


def runtimes_offering(names: Iterable[str]) -> list[Runtime]:
    """Runtimes that offer every one of the named tools (the always-on ones count everywhere)."""
    wanted = [known_tool(n) for n in names]
    return [r for r in Runtime if all(t.always or t.offer(r) != "none" for t in wanted)]


def needs(runtime: Runtime, names: Iterable[str], hosted: bool = True) -> dict[str, Any]:
    """What the chosen tools add for a runtime, merged: settings (by name), packages, bicep modules, roles.

    `hosted`: the repo deploys a container app, so the README texts say how the settings reach it; without one
    they say the settings are local only (catalog.LOCAL_ONLY).
    """
    settings: dict[str, Any] = {}
    packages: list[str] = []
    dev_packages: list[str] = []
    bicep: list[str] = []
    roles: list[Any] = []
    cli_modules: list[str] = []
    usage: dict[str, str] = {}
    readme: list[str] = []
    modules: list[dict[str, str]] = []
    for name in names:
        need = catalog.tools()[name].needs.get(runtime)
        if need is None:
            continue
        for key, setting in need.settings.items():
            settings[key] = setting.model_dump()
        packages += [p for p in need.packages if p not in packages]
        dev_packages += [p for p in need.dev_packages if p not in dev_packages]
        bicep += [b for b in need.bicep if b not in bicep]
        roles += [g for g in need.roles if g not in roles]
        cli_modules += [m for m in need.cli_modules if m not in cli_modules]
        if need.usage:
            hosting = need.usage_hosted if hosted else catalog.LOCAL_ONLY if need.usage_hosted else ""
            usage[name] = " ".join(f"{need.usage} {hosting}".split())
        if need.readme.strip():
            hosting = need.readme_hosted if hosted else catalog.LOCAL_ONLY if need.readme_hosted else ""
            readme.append("\n\n".join(p.strip() for p in (need.readme, hosting) if p.strip()))
        modules += [dict(m) for m in need.modules]
    return {"settings": settings, "packages": packages, "dev_packages": dev_packages, "bicep": bicep, "roles": roles,
            "cli_modules": cli_modules, "usage": usage, "readme": readme, "modules": modules}
