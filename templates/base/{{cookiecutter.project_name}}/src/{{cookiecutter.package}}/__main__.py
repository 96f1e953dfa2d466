"""Command line of {{ cookiecutter.project_name }}: `{{ cookiecutter.project_name }} settings` checks the configuration."""

from __future__ import annotations

import sys

from {{ cookiecutter.package }}.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["settings"]:
        print("usage: {{ cookiecutter.project_name }} settings", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, value in settings.model_dump().items():
        print(f"{name.upper()}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
