"""Settings from the environment, named as the Bicep outputs (azd writes them to .azure/<env>/.env)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env_files() -> tuple[str, ...]:
    files = []
    env_name = os.environ.get("AZURE_ENV_NAME")
    if env_name and Path(".azure", env_name, ".env").is_file():
        files.append(str(Path(".azure", env_name, ".env")))
    files.append(".env")
    return tuple(files)


class SettingsError(Exception):
    """A required setting is missing or invalid."""


class Settings(BaseSettings):
    """What the app needs to reach its Foundry runtime, keyless."""

    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")
{% for var in cookiecutter.env_vars %}
    {{ var.name.lower() }}: str{% if not var.required %} = ""{% endif %}
{%- endfor %}


def load_settings() -> Settings:
    """Read settings; a missing one is a single clear error naming the variable and how to get it."""
    try:
        return Settings(_env_file=_env_files())  # type: ignore[call-arg]
    except ValidationError as exc:
        names = ", ".join(str(e["loc"][0]).upper() for e in exc.errors())
        raise SettingsError(
            f"missing setting(s): {names}. Run `azd env get-values > .env` after `azd provision`, "
            "or copy .env.example to .env and fill it in."
        ) from None
