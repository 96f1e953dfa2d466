"""Bounded, safe reading of user files: regular files only, a size cap, YAML without alias bombs or deep nesting."""

from __future__ import annotations

import errno
import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import yaml

from scaffolder.errors import ScaffolderError

# Caps for files a user (or a pull request) hands the tool. Real standards, decision and answers files are
# a few KB and the generated Bicep a few tens of KB; these leave two orders of magnitude of headroom while
# keeping a hostile file from costing more than a fraction of a second.
MAX_CONFIG_BYTES = 1_000_000
MAX_BICEP_BYTES = 2_000_000
MAX_TEXT_BYTES = 5_000_000
# YAML: aliases are rare in config files; a "billion laughs" needs many of them at several levels.
MAX_YAML_ALIASES = 64
MAX_YAML_NODES = 100_000
MAX_DEPTH = 64


class UnsafeInputError(ValueError):
    """A user file is not a regular file, too large, too deep or an alias bomb (message says which)."""


def read_bytes(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """Read a regular file of at most `limit` bytes; never blocks on a FIFO or device.

    Raises UnsafeInputError (not a regular file, too large) or OSError (missing, unreadable).
    """
    # O_NONBLOCK: opening a FIFO with no writer would otherwise block forever before fstat can refuse it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (FIFO, socket or device)"
            raise UnsafeInputError(f"{path} is {kind}")
        if info.st_size > limit:
            raise UnsafeInputError(f"{path} is {info.st_size:,} bytes; the limit is {limit:,}")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # the file grew while being read
                raise UnsafeInputError(f"{path} is over {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> str:
    """read_bytes decoded as UTF-8 (UnsafeInputError when it is not text)."""
    data = read_bytes(path, limit=limit)
    if b"\0" in data:
        raise UnsafeInputError(f"{path} is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeInputError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def is_inside(path: Path, root: Path) -> bool:
    """Whether path, every link followed, lies under root (itself resolved)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


class BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses alias bombs and nesting deeper than MAX_DEPTH.

    The composer shares an aliased node, so an alias bomb is cheap to load but explodes when anything walks
    it (validation, printing). Every node's expanded size (aliases counted as the node they repeat) is
    tracked while composing, so a document that would expand past MAX_YAML_NODES stops at the source.
    Depth is checked before the composer recurses: deep nesting is one clear error, not a RecursionError.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._weight: dict[int, int] = {}

    def _where(self) -> str:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return f"line {event.start_mark.line + 1}"

    def compose_node(self, parent: Any, index: Any) -> Any:  # PyYAML hook
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES} aliases ({self._where()}); refused")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels ({self._where()})")
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if id(node) not in self._weight:
            if isinstance(node, yaml.SequenceNode):
                weight = 1 + sum(self._weight.get(id(child), 1) for child in node.value)
            elif isinstance(node, yaml.MappingNode):
                weight = 1 + sum(self._weight.get(id(k), 1) + self._weight.get(id(v), 1) for k, v in node.value)
            else:
                weight = 1
            if weight > MAX_YAML_NODES:
                raise yaml.YAMLError(
                    f"expands to more than {MAX_YAML_NODES:,} values through aliases; refused as an alias bomb"
                )
            self._weight[id(node)] = weight
        return node


def load_yaml(text: str) -> Any:
    """Parse YAML (or JSON) with the bounded loader; yaml.YAMLError on bad or hostile input."""
    try:
        return yaml.load(text, Loader=BoundedLoader)
    except RecursionError:
        raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels") from None


def _depth(value: Any) -> int:
    # Iterative: the point is to measure what would otherwise overflow the stack.
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML; tomllib.TOMLDecodeError on bad input, UnsafeInputError when nested too deep."""
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise UnsafeInputError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(doc) > MAX_DEPTH:
        raise UnsafeInputError(f"nested deeper than {MAX_DEPTH} levels")
    return doc


def load_json(text: str) -> Any:
    """Parse JSON; ValueError on bad input or nesting deeper than MAX_DEPTH."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(doc) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return doc


def describe(exc: OSError | UnsafeInputError) -> str:
    """One line for a read failure (strerror for OS errors, the message for unsafe input)."""
    if isinstance(exc, UnsafeInputError):
        return str(exc)
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    return exc.strerror or str(exc)


def read_config(path: Path, error: type[ScaffolderError], what: str, hint: str | None = None) -> tuple[bytes, str]:
    """Read a YAML/TOML/JSON config file's bytes and text, or raise `error` with one line."""
    try:
        raw = read_bytes(path)
    except (OSError, UnsafeInputError) as exc:
        raise error(f"cannot read {what} {path}: {describe(exc)}", hint=hint) from None
    if b"\0" in raw:
        raise error(f"cannot read {what} {path}: binary, not text", hint=hint)
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"cannot read {what} {path}: not UTF-8 text (byte {exc.start})", hint=hint) from None
