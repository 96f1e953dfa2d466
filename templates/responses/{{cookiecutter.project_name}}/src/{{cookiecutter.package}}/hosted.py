"""Tools the service runs itself (hosted tools), as generated: what is sent, and what their results bring back.
{%- if cookiecutter.tools %}

This repo was generated with: {{ cookiecutter.tools | join(", ") }}.
Citations (searched files, web pages), files the code interpreter made, generated images and MCP approval
requests come back in the response's output items.
{%- else %}

This repo was generated without hosted tools (only the function tools of tools.py); `scaffolder tools --runtime
responses` lists the ones you can generate it with.
{%- endif %}
"""

from __future__ import annotations
{% if 'image-generation' in cookiecutter.tools %}
import base64
import re
from pathlib import Path
{%- endif %}
from typing import TYPE_CHECKING, Any

{% if 'mcp' in cookiecutter.tools or 'image-generation' in cookiecutter.tools %}from {{ cookiecutter.package }}.errors import ServiceError
{% endif %}from {{ cookiecutter.package }}.service import {% if 'image-generation' in cookiecutter.tools or 'code-interpreter' in cookiecutter.tools %}Attachment, {% endif %}Citation, Found
from {{ cookiecutter.package }}.settings import Settings

if TYPE_CHECKING:
    from openai.types.responses import Response
{%- if 'mcp' in cookiecutter.tools %}

# From `--tool mcp,...` when the repo was generated; edit them here (the token, if any, is a setting).
MCP_SERVER_URL = {{ cookiecutter.tools['mcp']['url'] | tojson }}
MCP_SERVER_LABEL = {{ cookiecutter.tools['mcp']['label'] | tojson }}
# "always": the service asks before each call (the CLI asks you; the HTTP API applies APP_MCP_API_APPROVAL).
MCP_REQUIRE_APPROVAL = {{ cookiecutter.tools['mcp']['approval'] | tojson }}
# Only these tools of the server are offered to the model (empty: all of them).
MCP_ALLOWED_TOOLS: tuple[str, ...] = ({% for t in cookiecutter.tools['mcp']['allowed_tools'].split(';') if t %}{{ t | tojson }}, {% endfor %})
APPROVAL_POLICIES = ("approve", "deny")
{%- endif %}
{%- if 'image-generation' in cookiecutter.tools %}

# The image model deployment (gpt-image-1 series) the image_generation tool uses: the service reads it from this
# header (Learn: "Use the Azure OpenAI Responses API", image generation). Deploy that model on the same resource.
IMAGE_DEPLOYMENT = {{ cookiecutter.tools['image-generation']['deployment'] | tojson }}
IMAGE_DEPLOYMENT_HEADER = "x-ms-oai-image-generation-deployment"
{%- endif %}


def hosted_tools(settings: Settings) -> list[dict[str, Any]]:
    """The hosted tool definitions sent with every request (next to the function tools)."""
    tools: list[dict[str, Any]] = []
{%- if 'file-search' in cookiecutter.tools %}
    store_ids = [s.strip() for s in settings.app_file_search_vector_store_ids.split(",") if s.strip()]
    if store_ids:  # none yet: `{{ cookiecutter.project_name }} files add PATH...` creates the store
        tools.append({"type": "file_search", "vector_store_ids": store_ids})
{%- endif %}
{%- if 'code-interpreter' in cookiecutter.tools %}
    tools.append({"type": "code_interpreter",
                  "container": {"type": "auto", "memory_limit": settings.app_code_interpreter_memory}})
{%- endif %}
{%- if 'mcp' in cookiecutter.tools %}
    mcp: dict[str, Any] = {"type": "mcp", "server_label": MCP_SERVER_LABEL, "server_url": MCP_SERVER_URL,
                           "require_approval": MCP_REQUIRE_APPROVAL}
    if MCP_ALLOWED_TOOLS:
        mcp["allowed_tools"] = list(MCP_ALLOWED_TOOLS)
    if settings.app_mcp_auth_token:  # from the environment or .env, never written in code
        mcp["headers"] = {"Authorization": f"Bearer {settings.app_mcp_auth_token}"}
    tools.append(mcp)
{%- endif %}
{%- if 'web-search' in cookiecutter.tools %}
    tools.append({"type": "web_search"})
{%- endif %}
{%- if 'image-generation' in cookiecutter.tools %}
    tools.append({"type": "image_generation"})
{%- endif %}
    return tools


def default_headers() -> dict[str, str]:
    """Headers every request carries for the hosted tools."""
{%- if 'image-generation' in cookiecutter.tools %}
    return {IMAGE_DEPLOYMENT_HEADER: IMAGE_DEPLOYMENT}
{%- else %}
    return {}
{%- endif %}


def check_settings(settings: Settings) -> None:
    """Refuse a setting the hosted tools cannot use, before any request."""
{%- if 'mcp' in cookiecutter.tools %}
    if settings.app_mcp_api_approval not in APPROVAL_POLICIES:
        raise ServiceError(
            f"APP_MCP_API_APPROVAL must be one of {', '.join(APPROVAL_POLICIES)}, not {settings.app_mcp_api_approval!r}"
        )
{%- else %}
    del settings  # nothing to check for the tools this repo was generated with
{%- endif %}


def collect(response: Response, found: Found, settings: Settings) -> list[str]:
    """Take citations, container files and images out of a response into `found`; returns notes to show the user
    (a hosted tool that failed)."""
    notes: list[str] = []
    for item in response.output:
        if item.type == "message":
            for part in item.content:
                if part.type != "output_text":
                    continue
                for note in part.annotations:
                    if note.type == "file_citation":
                        found.cite(Citation(note.filename or note.file_id, file_id=note.file_id))
                    elif note.type == "url_citation":
                        found.cite(Citation(note.title or note.url, url=note.url))
{%- if 'code-interpreter' in cookiecutter.tools %}
                    elif note.type == "container_file_citation":
                        found.attach(Attachment(note.filename, container_id=note.container_id, file_id=note.file_id))
{%- endif %}
{%- if 'image-generation' in cookiecutter.tools %}
        elif item.type == "image_generation_call":
            if item.result:
                found.attach(_save_image(item.id, item.result, item.output_format or "png", settings))
            elif item.error is not None:
                notes.append(f"[image generation failed: {item.error.message}]")
{%- endif %}
{%- if 'mcp' in cookiecutter.tools %}
        elif item.type == "mcp_call" and item.error is not None:
            detail = getattr(item.error, "message", None) or item.error.type
            notes.append(f"[the MCP server {item.server_label} failed on {item.name}: {detail}]")
        elif item.type == "mcp_list_tools" and item.error:
            notes.append(f"[the MCP server {item.server_label} could not list its tools: {item.error}]")
{%- endif %}
    return notes
{%- if 'image-generation' in cookiecutter.tools %}


def _save_image(item_id: str, data: str, fmt: str, settings: Settings) -> Attachment:
    """Decode a generated image and save it under APP_IMAGE_DIR; the name comes from the item id, never the model."""
    folder = Path(settings.app_image_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_-]", "", item_id)[:64] or "image"
    path = folder / f"{name}.{fmt if fmt in ('png', 'jpeg', 'webp', 'gif') else 'png'}"
    try:
        path.write_bytes(base64.b64decode(data, validate=True))
    except ValueError as exc:
        raise ServiceError(f"the service sent an image that is not valid base64 ({exc})") from exc
    return Attachment(path.name, path=str(path))
{%- endif %}
{%- if 'mcp' in cookiecutter.tools %}


def approval_question(server_label: str, name: str, arguments: str) -> str:
    """What the user is asked before an MCP call runs (the arguments are shown: they leave for that server)."""
    return f"The MCP server {server_label!r} wants to run {name} with {arguments}. Allow it?"
{%- endif %}
