"""Hosted tools on the wire: the definitions sent are exactly the generated ones, and each tool's round trip
(and its failures) as the service answers them, against the strict fake in tests/fake_service.py."""

from __future__ import annotations
{% if 'code-interpreter' in cookiecutter.tools or 'image-generation' in cookiecutter.tools or 'file-search' in cookiecutter.tools %}
from pathlib import Path
{%- endif %}
{% if 'code-interpreter' in cookiecutter.tools or 'image-generation' in cookiecutter.tools or 'file-search' in cookiecutter.tools %}
{% endif -%}
import pytest
from fake_foundry import FakeFoundry
{% if cookiecutter.tools %}from fake_service import (
{% if 'code-interpreter' in cookiecutter.tools %}    ASK_CODE,
{% endif %}{% if 'file-search' in cookiecutter.tools %}    ASK_FILES,
{% endif %}{% if 'image-generation' in cookiecutter.tools %}    ASK_IMAGE,
{% endif %}{% if 'web-search' in cookiecutter.tools %}    ASK_WEB,
{% endif %}{% if 'image-generation' in cookiecutter.tools %}    IMAGE_HEADER,
{% endif %}{% if 'code-interpreter' in cookiecutter.tools %}    PLOT,
{% endif %}{% if 'image-generation' in cookiecutter.tools %}    PNG,
{% endif %}    RESPONSES,
)
{% else %}from fake_service import RESPONSES
{% endif %}
{% if 'file-search' in cookiecutter.tools or 'code-interpreter' in cookiecutter.tools %}from {{ cookiecutter.package }} import cli
{% endif %}from {{ cookiecutter.package }}.chat import make_service
{% if cookiecutter.tools %}from {{ cookiecutter.package }}.errors import ServiceError
{% endif %}{% if 'file-search' in cookiecutter.tools %}from {{ cookiecutter.package }}.service import ChatService
{% endif %}from {{ cookiecutter.package }}.settings import load_settings

# The hosted tool types this repo was generated with (`--tool`); nothing else may be sent.
{%- set generated = [] %}
{%- for tool, kind in [('file-search', 'file_search'), ('code-interpreter', 'code_interpreter'), ('mcp', 'mcp'), ('web-search', 'web_search'), ('image-generation', 'image_generation')] %}
{%- if tool in cookiecutter.tools %}{% set _ = generated.append('"' ~ kind ~ '"') %}{% endif %}
{%- endfor %}
GENERATED: set[str] = {% if generated %}{{ '{' }}{{ generated | join(', ') }}{{ '}' }}{% else %}set(){% endif %}


def hosted_sent(foundry: FakeFoundry, index: int = 0) -> dict[str, dict[str, object]]:
    return {t["type"]: t for t in foundry.calls("POST", RESPONSES)[index].body["tools"] if t["type"] != "function"}
{% if 'file-search' in cookiecutter.tools %}

@pytest.fixture
def store(app_env: FakeFoundry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A vector store filled through `files add`, as a user fills it; the new id is also in the environment."""
    doc = tmp_path / "guide.md"
    doc.write_text("Widgets ship in blue. Returns take 30 days.")
    assert cli.main(["files", "add", str(doc)]) == 0
    (store_id,) = app_env.runtime.vector_stores
    monkeypatch.setenv("APP_FILE_SEARCH_VECTOR_STORE_IDS", store_id)
    return str(store_id)
{% endif %}


def test_hosted_tools_sent_are_exactly_the_generated_ones(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch
) -> None:
{%- if 'file-search' in cookiecutter.tools %}
    app_env.runtime.create_store({"name": "docs"})
    monkeypatch.setenv("APP_FILE_SEARCH_VECTOR_STORE_IDS", next(iter(app_env.runtime.vector_stores)))
{%- endif %}
    make_service(load_settings()).reply(None, "hello")
    assert set(hosted_sent(app_env)) == GENERATED
{%- if 'code-interpreter' in cookiecutter.tools %}
    assert hosted_sent(app_env)["code_interpreter"] == {"type": "code_interpreter",
                                                        "container": {"type": "auto", "memory_limit": "1g"}}
{%- endif %}
{%- if 'mcp' in cookiecutter.tools %}
    mcp = hosted_sent(app_env)["mcp"]
    # the definition as generated from `--tool mcp,...` (literal here, not read back from hosted.py)
    assert mcp["server_label"] == {{ cookiecutter.tools['mcp']['label'] | tojson }}
    assert mcp["server_url"] == {{ cookiecutter.tools['mcp']['url'] | tojson }}
    assert mcp["require_approval"] == {{ cookiecutter.tools['mcp']['approval'] | tojson }}
{%- if cookiecutter.tools['mcp']['allowed_tools'] %}
    assert mcp["allowed_tools"] == {{ cookiecutter.tools['mcp']['allowed_tools'].split(';') | select | list | tojson }}
{%- else %}
    assert "allowed_tools" not in mcp  # none generated: the server's tools are all offered
{%- endif %}
    assert "headers" not in mcp  # no token set: no header, and never one written in code
{%- endif %}
{%- if 'web-search' in cookiecutter.tools %}
    assert hosted_sent(app_env)["web_search"] == {"type": "web_search"}
{%- endif %}
{%- if 'image-generation' in cookiecutter.tools %}
    assert app_env.calls("POST", RESPONSES)[0].headers[IMAGE_HEADER] == {{ cookiecutter.tools['image-generation']['deployment'] | tojson }}
{%- endif %}
{%- if 'file-search' in cookiecutter.tools %}


def test_file_search_is_not_sent_before_a_store_exists(app_env: FakeFoundry, service: ChatService) -> None:
    service.reply(None, "hello")
    assert "file_search" not in hosted_sent(app_env)


def test_files_add_creates_the_store_waits_for_indexing_and_records_it(
    app_env: FakeFoundry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [tmp_path / "a.md", tmp_path / "b.txt"]
    for doc in docs:
        doc.write_text(f"{doc.name} says hello.")
    assert cli.main(["files", "add", *map(str, docs)]) == 0
    (store_id,) = app_env.runtime.vector_stores
    assert f"APP_FILE_SEARCH_VECTOR_STORE_IDS={store_id}" in Path(".env").read_text().splitlines()
    uploads = app_env.calls("POST", r"/openai/v1/files")
    assert len(uploads) == 2 and all(u.headers["content-type"].startswith("multipart/form-data") for u in uploads)
    assert b'name="purpose"\r\n\r\nassistants' in uploads[0].raw
    attached = app_env.calls("POST", rf"/openai/v1/vector_stores/{store_id}/files")
    assert [a.body["file_id"] for a in attached] == [u.response["id"] for u in uploads]
    # waited: each file was polled until the service said it was indexed
    for upload in uploads:
        polls = app_env.calls("GET", rf"/openai/v1/vector_stores/{store_id}/files/{upload.response['id']}")
        assert [p.response["status"] for p in polls][-1] == "completed" and len(polls) >= 2
    assert "added a.md" in capsys.readouterr().out
    # a second `files add` reuses the recorded store (the .env the app reads)
    assert cli.main(["files", "add", str(docs[0])]) == 0
    assert len(app_env.runtime.vector_stores) == 1 and len(app_env.runtime.store_files[store_id]) == 3


def test_answers_cite_the_files_in_cli_and_api(
    app_env: FakeFoundry, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = make_service(load_settings()).reply(None, ASK_FILES + "?")
    assert reply.text.startswith("The docs say: Widgets ship in blue")
    assert [c.title for c in reply.citations] == ["guide.md"]
    assert hosted_sent(app_env)["file_search"] == {"type": "file_search", "vector_store_ids": [store]}
    assert cli.main(["chat", ASK_FILES]) == 0
    assert "[1] guide.md" in capsys.readouterr().out
    stream = make_service(load_settings()).stream(None, ASK_FILES)
    assert "".join(stream).startswith("The docs say") and [c.title for c in stream.citations] == ["guide.md"]


def test_files_add_failures_are_one_clear_message(
    app_env: FakeFoundry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.txt"
    big.write_text("x" * 64)
    app_env.runtime.max_file_bytes = 10
    assert cli.main(["files", "add", str(big)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {big}: the service answered 413: File big.txt is 64 bytes")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    broken = tmp_path / "blob.bin"
    broken.write_bytes(b"\0\1")
    assert cli.main(["files", "add", str(broken)]) == 1
    assert "uploaded but not indexed (Files with extension .bin are not supported" in capsys.readouterr().err
    assert cli.main(["files", "add", str(tmp_path / "missing.md")]) == 1
    assert "missing.md: not a file" in capsys.readouterr().err


def test_files_add_server_down_is_one_clear_message(
    app_env: FakeFoundry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("hello")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9/openai/v1/")
    assert cli.main(["files", "add", str(doc)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the vector store: cannot reach http://127.0.0.1:9/openai/v1/")
{%- endif %}
{%- if 'code-interpreter' in cookiecutter.tools %}


def test_code_interpreter_files_are_listed_and_downloaded(
    app_env: FakeFoundry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = make_service(load_settings()).reply(None, ASK_CODE)
    (made,) = reply.attachments
    assert made.name == "plot.csv" and made.container_id.startswith("cntr_") and made.file_id.startswith("cfile_")
    assert cli.main(["files", "list", made.container_id]) == 0
    assert f"{made.file_id}" in capsys.readouterr().out
    out = tmp_path / "downloads"
    assert cli.main(["files", "download", made.container_id, made.file_id, "-o", str(out)]) == 0
    assert (out / "plot.csv").read_bytes() == PLOT
    assert cli.main(["files", "download", made.container_id, made.file_id, "-o", str(out)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    content = app_env.calls("GET", rf"/openai/v1/containers/{made.container_id}/files/{made.file_id}/content")
    assert len(content) == 1
    assert cli.main(["chat", ASK_CODE]) == 0
    assert "files download cntr_" in capsys.readouterr().out  # the CLI says how to get the file


def test_expired_container_is_one_clear_message(app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["files", "list", "cntr_gone"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: container cntr_gone: not found (404)") and len(err.strip().splitlines()) == 1
{%- endif %}
{%- if 'web-search' in cookiecutter.tools %}


def test_web_search_cites_pages(app_env: FakeFoundry) -> None:
    reply = make_service(load_settings()).reply(None, ASK_WEB + " the answer")
    assert [(c.title, c.url) for c in reply.citations] == [("Example answer", "https://example.com/answer")]
{%- endif %}
{%- if 'image-generation' in cookiecutter.tools %}


def test_generated_images_are_saved_to_files(app_env: FakeFoundry, tmp_path: Path) -> None:
    reply = make_service(load_settings()).reply(None, ASK_IMAGE)
    (image,) = reply.attachments
    assert Path(image.path).parent == Path("images") and Path(image.path).read_bytes() == PNG
    stream = make_service(load_settings()).stream(None, ASK_IMAGE)
    assert "".join(stream) == "Here is your picture." and stream.attachments[0].path.endswith(".png")


def test_image_generation_without_the_deployment_header_is_refused_by_the_service(app_env: FakeFoundry) -> None:
    # What the header is for: the fake answers like the service does without it.
    from {{ cookiecutter.package }}.auth import openai_client

    client = openai_client(load_settings(), load_settings().azure_openai_endpoint)
    with pytest.raises(Exception, match="x-ms-oai-image-generation-deployment"):
        client.responses.create(model="{{ cookiecutter.model_deployment }}", input="x", tools=[{"type": "image_generation"}])
{%- endif %}

{% if cookiecutter.tools %}

@pytest.mark.parametrize(("change", "refused"), [
    ({"foo": 1}, "foo"),  # an unknown key
    ({"type": "web_search", "search_context_size": "huge"}, "search_context_size"),
    ({"type": "mcp", "server_label": "a", "server_url": "https://x.example/mcp", "headers": {"Authorization": 5}},
     "headers"),
    ({"type": "mcp", "server_label": "a", "server_url": "https://x.example/mcp", "allowed_tools": "search"},
     "allowed_tools"),
    ({"type": "file_search", "vector_store_ids": "vs_1"}, "vector_store_ids"),
])
def test_the_fake_refuses_tool_definitions_the_service_refuses(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, change: dict[str, object], refused: str
) -> None:
    """Strict fake: a definition with a key the service does not know, or a value of the wrong type, is a 400 naming
    it (as the service answers), so a wrong definition from the app cannot pass these tests silently."""
    from {{ cookiecutter.package }} import chat

    definition = change if "type" in change else {"type": "code_interpreter", "container": {"type": "auto"}, **change}
    monkeypatch.setattr(chat, "hosted_tools", lambda _settings: [definition])
    with pytest.raises(ServiceError, match=rf"the service answered 400: .*'tools\[\d+\]\.{refused}'"):
        make_service(load_settings()).reply(None, "hello")
    assert [c.status for c in app_env.calls("POST", RESPONSES)] == [400]
{% endif %}
