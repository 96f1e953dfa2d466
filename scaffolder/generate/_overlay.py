"""Team overlays: extra files rendered into every generated repo (sandboxed Jinja), and their opt-in hooks."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from scaffolder import safeio
from scaffolder.errors import HookError, OverlayError, TemplateError, UntrustedOverlayError
from scaffolder.generate._files import safe_relative, template_files

HOOKS_DIR = "_hooks"
JINJA_SUFFIX = ".jinja"
# Overlays add team files; they must not replace what the tool guarantees (infra, answers file).
PROTECTED = ("infra/", ".scaffolder.yml")
# azd runs the hooks an azure.yaml declares on `azd up`, the command `new` suggests: an overlay that ships
# one (anywhere in the repo) runs code as surely as a _hooks/ script, so it needs --trust too.
AZD_PROJECT_FILES = ("azure.yaml", "azure.yml")
# Bounds on what overlays may produce: a real overlay is a handful of small files.
MAX_OVERLAY_FILE = 1_000_000
MAX_OVERLAY_TOTAL = 10_000_000
MAX_OVERLAY_FILES = 1_000
RENDER_SECONDS = 10.0
_MAX_POWER = 1_000


class _Budget(Exception):
    """An overlay template exceeded a size or time bound."""


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox with arithmetic that cannot allocate without bound (`'x' * 10**9`, `10 ** 10 ** 8`)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and not isinstance(right, bool) and abs(right) > _MAX_POWER:
            raise _Budget(f"exponent {right} is over {_MAX_POWER}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int)
                if sized and len(seq) * times > MAX_OVERLAY_FILE:
                    raise _Budget(f"a repetition of {len(seq) * times:,} items is over {MAX_OVERLAY_FILE:,}")
        return super().call_binop(context, operator, left, right)


def overlay_environment() -> BoundedSandbox:
    """The Jinja environment overlays render in: sandboxed, bounded, strict about undefined names."""
    return BoundedSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
                          extensions=["jinja2.ext.loopcontrols"])


def _render(env: BoundedSandbox, source: str, ctx: dict[str, Any], limit: int) -> str:
    """Render streaming, stopping as soon as the output passes `limit` characters."""
    out: list[str] = []
    size = 0
    for chunk in env.from_string(source).generate(cookiecutter=ctx):
        size += len(chunk)
        if size > limit:
            raise _Budget(f"renders over {limit:,} characters")
        out.append(chunk)
    return "".join(out)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Stop a runaway template (nested loops render nothing yet never end) after `seconds` of wall time.

    SIGALRM interrupts Python code between bytecodes; it is only available in the main thread on POSIX,
    elsewhere the size bounds still apply.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    # An alarm someone else set (a test runner's timeout) is left alone rather than overwritten.
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Budget(f"took over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _overlay_files(root: Path) -> list[Path]:
    """The overlay's files; a link (file or folder) leading out of the overlay root is refused."""
    for entry in root.rglob("*"):  # rglob lists a linked folder without entering it: refuse it here
        if entry.is_symlink() and not safeio.is_inside(entry, root):
            raise OverlayError(f"overlay {root}: {entry.relative_to(root).as_posix()} is a link leading outside "
                               "the overlay folder; it was not read", hint="copy the files into the overlay instead")
    files = []
    for src in template_files(root):
        if not safeio.is_inside(src, root):
            raise OverlayError(f"overlay {root}: {src.relative_to(root).as_posix()} is a link leading outside the "
                               "overlay folder; it was not read", hint="copy the file into the overlay instead")
        files.append(src)
    if len(files) > MAX_OVERLAY_FILES:
        raise OverlayError(f"overlay {root} holds {len(files)} files; the limit is {MAX_OVERLAY_FILES}")
    return files


def render_overlays(
    dirs: Sequence[Path], env: SandboxedEnvironment | None, ctx: dict[str, Any]
) -> tuple[dict[str, tuple[bytes, int]], list[Path]]:
    """Render overlay files (`*.jinja` rendered, suffix dropped; others verbatim) and list their hooks.

    Every failure is one OverlayError line (exit 3): a template error or exception, a path leaving the
    repo or holding control characters, a link out of the overlay, output over the size bounds.
    `env` is ignored (kept for callers): overlays always render in the bounded sandbox.
    """
    files: dict[str, tuple[bytes, int]] = {}
    hooks: list[Path] = []
    if not dirs:
        return files, hooks
    bounded = overlay_environment()
    try:
        with _deadline(RENDER_SECONDS):
            _render_all(dirs, bounded, ctx, files, hooks)
    except _Budget as exc:  # the deadline struck between two files
        raise OverlayError(f"overlays {exc}; nothing was written") from None
    return files, hooks


def _render_all(dirs: Sequence[Path], bounded: BoundedSandbox, ctx: dict[str, Any],
                files: dict[str, tuple[bytes, int]], hooks: list[Path]) -> None:
    total = 0
    for root in dirs:
        for src in _overlay_files(root):
            rel = src.relative_to(root).as_posix()
            if rel.startswith(f"{HOOKS_DIR}/"):
                hooks.append(src)
                continue
            target, data = _render_one(bounded, root, src, rel, ctx)
            if target is None:
                continue
            total += len(data)
            if total > MAX_OVERLAY_TOTAL:
                raise OverlayError(f"overlays render over {MAX_OVERLAY_TOTAL:,} bytes in all; nothing was written")
            files[target] = (data, 0o755 if src.stat().st_mode & 0o111 else 0o644)


def _render_one(
    env: BoundedSandbox, root: Path, src: Path, rel: str, ctx: dict[str, Any]
) -> tuple[str | None, bytes]:
    where = f"overlay {root}/{rel}"
    try:
        target = _render(env, rel, ctx, 4096) if "{" in rel else rel
        data = safeio.read_bytes(src, limit=MAX_OVERLAY_FILE)
        if target.endswith(JINJA_SUFFIX):
            target = target.removesuffix(JINJA_SUFFIX)
            data = _render(env, data.decode("utf-8"), ctx, MAX_OVERLAY_FILE).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise OverlayError(f"{where} failed to render: {_one_line(exc)}", hint="fix the overlay template") from None
    except UnicodeError:
        raise OverlayError(f"{where} is not UTF-8 text", hint="drop the .jinja suffix to copy it verbatim") from None
    except (OSError, safeio.UnsafeInputError) as exc:
        raise OverlayError(f"{where} cannot be read: {safeio.describe(exc)}") from None
    except _Budget as exc:
        raise OverlayError(f"{where} {exc}; nothing was written", hint="bound the template's output") from None
    except RecursionError:
        raise OverlayError(f"{where} recurses without end (a macro calling itself?)") from None
    except MemoryError:
        raise OverlayError(f"{where} ran out of memory while rendering") from None
    except Exception as exc:  # a template is user code: any exception is its error
        raise OverlayError(f"{where} failed to render: {type(exc).__name__}: {_one_line(exc)}",
                           hint="fix the overlay template") from None
    if any(not part.strip() for part in target.split("/")):
        return None, b""  # a path segment rendering empty means "not for this spec"
    if any(ord(c) < 32 or c == "\x7f" for c in target) or "\\" in target:
        raise OverlayError(f"{where} renders to a file name with control characters or a backslash: {target!r}")
    try:
        safe_relative(target, where)
    except TemplateError as exc:
        raise OverlayError(exc.message) from None
    if target.startswith(PROTECTED[0]) or target == PROTECTED[1]:
        raise OverlayError(f"{where} would replace {target}, which the generator owns (infra/, .scaffolder.yml)")
    return target, data


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def check_trust(hooks: Sequence[Path], trust: bool, replaced: Sequence[str] = ()) -> None:
    """Refuse hooks, and overlay files that replace generator files or define azd hooks, unless trusted.

    copier's --trust model, exit code 4; `replaced` lists the generated paths an overlay would replace
    (azure.yaml with azd hooks runs code on `azd up`, so replacing it is as powerful as a hook).
    """
    if trust:
        return
    if hooks:
        names = ", ".join(str(h) for h in hooks)
        raise UntrustedOverlayError(
            f"the standards' overlays carry executable hooks ({names}); they did not run and nothing was written",
            hint="review them, then pass --trust to run them",
        )
    if replaced:
        raise UntrustedOverlayError(
            f"the standards' overlays replace generated files or define azd hooks ({', '.join(replaced)}); "
            "nothing was written",
            hint="review the overlay files, then pass --trust to let them replace the generated ones",
        )


def trust_needed(overlay_paths: Sequence[str], generated: Sequence[str]) -> list[str]:
    """Overlay paths that need --trust: a generated file they replace, or an azd project file (hooks)."""
    owned = set(generated)
    return sorted(p for p in overlay_paths if p in owned or p.rsplit("/", 1)[-1] in AZD_PROJECT_FILES)


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
