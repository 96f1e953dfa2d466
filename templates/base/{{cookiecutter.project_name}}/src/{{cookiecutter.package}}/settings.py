"""Settings from the environment, named as the Bicep outputs (azd writes them to .azure/<env>/.env)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from {{ cookiecutter.package }}.errors import SettingsError

__all__ = ["Settings", "SettingsError", "load_settings", "read_settings"]


def _azd_default_environment() -> str | None:
    """The environment `azd env select` chose (.azure/config.json), used when AZURE_ENV_NAME is unset."""
    try:
        name = json.loads(Path(".azure", "config.json").read_text(encoding="utf-8")).get("defaultEnvironment")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name and "/" not in name and ".." not in name else None


def _env_files() -> tuple[str, ...]:
    """azd's environment first, then .env: a value in .env wins (later files override earlier ones)."""
    files = []
    env_name = os.environ.get("AZURE_ENV_NAME") or _azd_default_environment()
    if env_name and Path(".azure", env_name, ".env").is_file():
        files.append(str(Path(".azure", env_name, ".env")))
    files.append(".env")
    return tuple(files)


class Settings(BaseSettings):
    """What the app needs to reach its Foundry runtime, keyless. Real environment variables win over files."""

    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    # Infrastructure outputs (infra/main.bicep), as azd writes them; load_settings() checks the required ones.
{%- for var in cookiecutter.env_vars %}
    {{ var.name.lower() }}: str = ""
{%- endfor %}

    # App settings (optional; defaults below).
{%- for s in cookiecutter.app_settings %}
    {{ s.field }}: {{ s.type }} = {{ s.default_py }}
{%- endfor %}


REQUIRED = [{% for var in cookiecutter.env_vars if var.required %}"{{ var.name }}"{% if not loop.last %}, {% endif %}{% endfor %}]


def read_settings() -> Settings:
    """Read settings without requiring the service endpoints (the HTTP API's own settings need none of them)."""
    try:
        return Settings(_env_file=_env_files())  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = ", ".join(f"{str(e['loc'][0]).upper()} ({e['msg'].lower()})" for e in exc.errors())
        raise SettingsError(f"invalid setting(s): {problems}") from None


def load_settings() -> Settings:
    """Read settings; a missing one is a single clear error naming the variable and how to get it."""
    settings = read_settings()
    missing = [name for name in REQUIRED if not getattr(settings, name.lower()).strip()]
    if missing:
        raise SettingsError(
            f"missing setting(s): {', '.join(missing)}. After `azd provision` (or `scaffolder provision`), run "
            "`azd env get-values > .env`, or copy .env.example to .env and fill it in."
        )
    return settings
