"""Team overlays: extra files rendered into every generated repo (sandboxed Jinja), and their opt-in hooks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from scaffolder.errors import HookError, TemplateError, UntrustedOverlayError
from scaffolder.generate._files import safe_relative, template_files

HOOKS_DIR = "_hooks"
JINJA_SUFFIX = ".jinja"
# Overlays add team files; they must not replace what the tool guarantees (infra, answers file).
PROTECTED = ("infra/", ".scaffolder.yml")




def render_overlays(
    dirs: Sequence[Path], env: SandboxedEnvironment, ctx: dict[str, Any]
) -> tuple[dict[str, tuple[bytes, int]], list[Path]]:
    """Render overlay files (`*.jinja` rendered, suffix dropped; others verbatim) and list their hooks."""
    files: dict[str, tuple[bytes, int]] = {}
    hooks: list[Path] = []
    for root in dirs:
        for src in template_files(root):
            rel = src.relative_to(root).as_posix()
            if rel.startswith(f"{HOOKS_DIR}/"):
                hooks.append(src)
                continue
            try:
                target = env.from_string(rel).render(cookiecutter=ctx) if "{" in rel else rel
                data = src.read_bytes()
                if target.endswith(JINJA_SUFFIX):
                    target = target.removesuffix(JINJA_SUFFIX)
                    data = env.from_string(data.decode("utf-8")).render(cookiecutter=ctx).encode("utf-8")
            except (jinja2.TemplateError, UnicodeDecodeError) as exc:
                raise TemplateError(f"overlay {root}/{rel} failed to render: {exc}") from exc
            if any(not part.strip() for part in target.split("/")):
                continue
            safe_relative(target, f"overlay {root}/{rel}")
            if target.startswith(PROTECTED[0]) or target == PROTECTED[1]:
                raise TemplateError(
                    f"overlay {root}/{rel} would replace {target}, which the generator owns (infra/, .scaffolder.yml)"
                )
            files[target] = (data, 0o755 if src.stat().st_mode & 0o111 else 0o644)
    return files, hooks


def check_trust(hooks: Sequence[Path], trust: bool) -> None:
    """Refuse hooks unless the user trusts the overlays (copier's --trust; exit code 4)."""
    if hooks and not trust:
        names = ", ".join(str(h) for h in hooks)
        raise UntrustedOverlayError(
            f"the standards' overlays carry executable hooks ({names}); they did not run and nothing was written",
            hint="review them, then pass --trust to run them",
        )


def run_hooks(hooks: Sequence[Path], repo: Path) -> None:
    """Run trusted hooks inside the staged repo (before it is moved into place), as argument lists."""
    for hook in sorted(hooks, key=lambda p: p.name):
        cmd = [sys.executable, str(hook)] if hook.suffix == ".py" else [str(hook)]
        try:
            done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300, check=False)
        except OSError as exc:
            raise HookError(f"hook {hook.name} could not start: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise HookError(f"hook {hook.name} ran over 300 s and was stopped; nothing was written") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
            raise HookError(f"hook {hook.name} failed (exit {done.returncode}): {tail[0]}; nothing was written")


def as_planned(files: dict[str, tuple[bytes, int]]) -> dict[str, Any]:
    """Overlay files as PlannedFile keyword arguments by path."""
    return {path: {"path": PurePosixPath(path), "content": data, "mode": mode} for path, (data, mode) in files.items()}
