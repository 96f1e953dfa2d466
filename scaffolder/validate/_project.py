"""A generated repo's Bicep as one unit: every file under infra/, module links, and the parameters file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from scaffolder import safeio
from scaffolder.validate._eval import Arr, Item, Kind, Lit, Obj, Unknown, Value, static_param
from scaffolder.validate._model import BicepFile, Module, load, parse_bytes

PARAMETERS_FILE = "main.parameters.json"
# azd substitutes ${VAR} and ${VAR=default} in the parameters file from the environment
# Generated Bicep nests about a dozen syntax levels; the checkers walk trees recursively, so a file nested
# far deeper is refused (one finding) instead of ending in a RecursionError.
MAX_BICEP_DEPTH = 150
AZD_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}")


# Strings Go's strconv.ParseBool accepts (azd converts a bool parameter's string value with it).
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_GO_INT = re.compile(r"[+-]?[0-9]+")  # strconv.ParseInt(s, 10, 64)


def azd_value(data: object, at: tuple[int, int], declared: Kind = "any") -> Value:
    """A parameters-file value as azd hands it to ARM in a fresh environment.

    ${VAR=default} becomes the default, ${VAR} an unknown string (its value comes from the environment).
    `declared` is the parameter's Bicep kind: azd then converts a top-level string value as it does before
    deploying ("Relax the handling of bool and number types to accept convertible strings":
    armParameterFileValue in github.com/Azure/azure-dev cli/azd/pkg/infra/provisioning/bicep/bicep_provider.go,
    strconv.ParseBool for bool, strconv.ParseInt for int); a string it cannot convert stays a string.
    """
    if isinstance(data, str):
        whole = AZD_VAR.fullmatch(data)
        if whole is not None:
            var, default = whole.group(1), whole.group(2)
            if default is None:
                # the environment's value, converted the same way once known
                kind: Kind = declared if declared in ("bool", "int") else "string"
                return Unknown(kind, origin=f"azd ${{{var}}}")
            return _azd_converted(default, declared)
        if AZD_VAR.search(data):
            return Unknown("string", origin="azd substitution")
        return _azd_converted(data, declared)
    if isinstance(data, dict):
        return Obj({str(k): Item(azd_value(v, at), at) for k, v in data.items()})
    if isinstance(data, list):
        return Arr([Item(azd_value(v, at), at) for v in data])
    if data is None or isinstance(data, (int, bool)):
        return Lit(data)
    return Unknown("any")


def azd_converted(text: str, declared: Kind) -> str | int | bool:
    """A substituted string as azd passes it for a parameter of the declared kind (see azd_value)."""
    if declared == "bool" and text in _GO_BOOL:
        return _GO_BOOL[text]
    if declared == "int" and _GO_INT.fullmatch(text) and -(2**63) <= int(text) < 2**63:
        return int(text)
    return text


def _azd_converted(text: str, declared: Kind) -> Value:
    return Lit(azd_converted(text, declared))


@dataclass
class Project:
    """The Bicep files of one repo, parsed once and shared by every layer."""

    repo: Path
    infra: Path
    files: dict[Path, BicepFile] = field(default_factory=dict)
    single_file: bool = False
    # Files not read, by resolved path: (shown name, why). A link leaving the repo is never followed.
    refused: dict[Path, tuple[str, str]] = field(default_factory=dict)

    @property
    def main(self) -> BicepFile | None:
        """infra/main.bicep."""
        return self.files.get((self.infra / "main.bicep").resolve())

    @property
    def parameters_path(self) -> Path:
        """infra/main.parameters.json."""
        return self.infra / PARAMETERS_FILE

    def display(self, path: Path) -> str:
        """Path as shown in findings: relative to the repo, POSIX style."""
        try:
            return path.resolve().relative_to(self.repo.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def module_path(self, file: BicepFile, module: Module) -> Path | None:
        """Where a local module points (None for registry or template-spec references)."""
        if ":" in module.path or not module.path:
            return None
        return (file.path.parent / module.path).resolve()

    def module_file(self, file: BicepFile, module: Module) -> BicepFile | None:
        """The parsed module file, loading it on first use; None when missing or not local."""
        target = self.module_path(file, module)
        if target is None:
            return None
        if target not in self.files:
            if target in self.refused or not target.is_file():
                return None
            self.admit(target, self.display(target))
        return self.files.get(target)

    def admit(self, path: Path, shown: str) -> None:
        """Parse one file into `files`, or record in `refused` why it was not read.

        Only regular files inside the repo, at most safeio.MAX_BICEP_BYTES, UTF-8 text (a binary file would
        make the parser's error recovery super-linear) and nested at most MAX_BICEP_DEPTH syntax levels.
        """
        resolved = path.resolve()
        if not safeio.is_inside(resolved, self.repo):
            self.refused[resolved] = (shown, "lies outside the repo (a link or a path leaving it); not followed")
            return
        try:
            data = safeio.read_confined(resolved, self.repo, limit=safeio.MAX_BICEP_BYTES)
        except (OSError, safeio.UnsafeInputError) as exc:
            self.refused[resolved] = (shown, f"cannot be read: {safeio.describe(exc).replace(str(resolved), shown)}")
            return
        if b"\0" in data:
            self.refused[resolved] = (shown, "is binary, not Bicep text")
            return
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.refused[resolved] = (shown, f"is not UTF-8 text (byte {exc.start})")
            return
        tree = parse_bytes(data)
        if tree_depth(tree.root_node) > MAX_BICEP_DEPTH:
            self.refused[resolved] = (shown, f"nests deeper than {MAX_BICEP_DEPTH} syntax levels; not checked")
            return
        self.files[resolved] = load(resolved, shown, data, tree)

    def parameters(self) -> dict[str, object] | None:
        """The parameters file as JSON (None when absent; ValueError when not valid JSON)."""
        path = self.parameters_path
        if not path.is_file():
            return None
        data = safeio.load_json(self._parameters_text())
        if not isinstance(data, dict):
            raise ValueError("the parameters file is not a JSON object")
        return data

    def _parameters_text(self) -> str:
        """The parameters file's text; ValueError when it leaves the repo, is too large or not text."""
        path = self.parameters_path
        if not safeio.is_inside(path, self.repo):
            raise ValueError("the parameters file is a link to a file outside the repo; not followed")
        try:
            data = safeio.read_confined(path, self.repo, limit=safeio.MAX_TEXT_BYTES)
        except (OSError, safeio.UnsafeInputError) as exc:
            raise ValueError(f"the parameters file cannot be read: {safeio.describe(exc)}") from None
        if b"\0" in data:
            raise ValueError("the parameters file is binary, not text")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"the parameters file is not UTF-8 text (byte {exc.start})") from None

    def key_line(self, key: str) -> int:
        """Line of a parameter's key in the parameters file (1 when not found)."""
        try:
            lines = self._parameters_text().splitlines()
        except ValueError:
            return 1
        needle = json.dumps(key) + ":"
        return next((i + 1 for i, line in enumerate(lines) if needle in line.replace(" :", ":")), 1)

    def parameter_values(self) -> dict[str, Value]:
        """main.bicep's parameter values from the parameters file (azd substitutions resolved)."""
        try:
            data = self.parameters()
        except ValueError:
            return {}
        params = data.get("parameters") if data else None
        if not isinstance(params, dict):
            return {}
        main = self.main
        declared = main.params if main is not None else {}
        out: dict[str, Value] = {}
        for name, entry in params.items():
            if isinstance(entry, dict) and "value" in entry:
                decl = declared.get(str(name))
                declared_kind: Kind = static_param(decl).kind if decl is not None else "any"
                out[str(name)] = azd_value(entry["value"], (self.key_line(str(name)), 1), declared_kind)
        return out


def tree_depth(root: object) -> int:
    """Deepest nesting of a tree-sitter tree, walked with a cursor (no recursion)."""
    cursor = root.walk()  # type: ignore[attr-defined]
    depth = deepest = 0
    while True:
        deepest = max(deepest, depth)
        if depth <= MAX_BICEP_DEPTH and cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return deepest
            depth -= 1


def load_project(path: Path) -> Project:
    """Load a repo (its infra/ folder), an infra folder itself, or a single Bicep file (modules load on use)."""
    path = path.resolve()
    if path.is_file():
        project = Project(repo=path.parent, infra=path.parent, single_file=True)
        project.admit(path, path.name)
        return project
    if (path / "infra" / "main.bicep").is_file() or (path / "infra").is_dir():
        repo, infra = path, path / "infra"
    else:
        repo, infra = path, path
    project = Project(repo=repo, infra=infra)
    if not safeio.is_inside(infra, repo):
        project.refused[infra.resolve()] = (infra.name, "is a link to a folder outside the repo; not followed")
        return project
    from scaffolder.generate._plan import is_backup_path  # local: validate must not load the generator eagerly

    # rglob does not descend into linked folders; a linked file is admitted only when it stays in the repo.
    for bicep in sorted(infra.rglob("*.bicep")):
        if is_backup_path(bicep.relative_to(repo).as_posix()):
            continue  # old copies `update` kept, not part of the project
        if bicep.is_file() or bicep.is_symlink():
            project.admit(bicep, bicep.relative_to(repo).as_posix())
    return project
