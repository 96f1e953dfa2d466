"""A generated repo's Bicep as one unit: every file under infra/, module links, and the parameters file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from scaffolder.validate._eval import Arr, Item, Lit, Obj, Unknown, Value
from scaffolder.validate._model import BicepFile, Module, load

PARAMETERS_FILE = "main.parameters.json"
# azd substitutes ${VAR} and ${VAR=default} in the parameters file from the environment
AZD_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}")


def azd_value(data: object, at: tuple[int, int]) -> Value:
    """A parameters-file value as azd hands it to ARM in a fresh environment.

    ${VAR=default} becomes the default, ${VAR} an unknown string (its value comes from the environment).
    """
    if isinstance(data, str):
        whole = AZD_VAR.fullmatch(data)
        if whole is not None:
            var, default = whole.group(1), whole.group(2)
            return Lit(default) if default is not None else Unknown("string", origin=f"azd ${{{var}}}")
        return Unknown("string", origin="azd substitution") if AZD_VAR.search(data) else Lit(data)
    if isinstance(data, dict):
        return Obj({str(k): Item(azd_value(v, at), at) for k, v in data.items()})
    if isinstance(data, list):
        return Arr([Item(azd_value(v, at), at) for v in data])
    if data is None or isinstance(data, (int, bool)):
        return Lit(data)
    return Unknown("any")


@dataclass
class Project:
    """The Bicep files of one repo, parsed once and shared by every layer."""

    repo: Path
    infra: Path
    files: dict[Path, BicepFile] = field(default_factory=dict)
    single_file: bool = False

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
            if not target.is_file():
                return None
            self.files[target] = load(target, self.display(target))
        return self.files[target]

    def parameters(self) -> dict[str, object] | None:
        """The parameters file as JSON (None when absent; ValueError when not valid JSON)."""
        path = self.parameters_path
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the parameters file is not a JSON object")
        return data

    def key_line(self, key: str) -> int:
        """Line of a parameter's key in the parameters file (1 when not found)."""
        try:
            lines = self.parameters_path.read_text(encoding="utf-8").splitlines()
        except OSError:
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
        out: dict[str, Value] = {}
        for name, entry in params.items():
            if isinstance(entry, dict) and "value" in entry:
                out[str(name)] = azd_value(entry["value"], (self.key_line(str(name)), 1))
        return out


def load_project(path: Path) -> Project:
    """Load a repo (its infra/ folder), an infra folder itself, or a single Bicep file (modules load on use)."""
    path = path.resolve()
    if path.is_file():
        project = Project(repo=path.parent, infra=path.parent, single_file=True)
        project.files[path] = load(path, project.display(path))
        return project
    if (path / "infra" / "main.bicep").is_file() or (path / "infra").is_dir():
        repo, infra = path, path / "infra"
    else:
        repo, infra = path, path
    project = Project(repo=repo, infra=infra)
    for bicep in sorted(p for p in infra.rglob("*.bicep") if p.is_file()):
        resolved = bicep.resolve()
        project.files[resolved] = load(resolved, project.display(resolved))
    return project
