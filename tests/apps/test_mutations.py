"""Mutation check: deliberate bugs put into a generated repo's source make its own tests fail.

Each mutation is a small source edit that brings back a failure path the generated apps used to get wrong (or
removes a guard), and names the generated test that must catch it. The edit is applied to the installed repo
(tests/apps/conftest.py builds one per runtime), the named test modules run, and the source is restored
whatever happens. A mutation that no longer applies (the template changed) fails loudly rather than passing.
A hand-written list of edits was chosen over a mutation tool (mutmut, cosmic-ray): those mutate operators at
random, need their own runner and minutes per file, and cannot express "delete the id rewrite".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.apps.conftest import copy_env, repo_for, working_copy
from tests.apps.harness import AppRepo

SCOPE = 'TOKEN_SCOPE = "https://ai.azure.com/.default"'
OLD_SCOPE = 'TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"'


@dataclass(frozen=True)
class Mutation:
    """Edits (old -> new, each `old` found exactly once) in one file of the generated package."""

    runtime: str
    name: str
    module: str  # path under src/<package>/
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]  # test modules of the generated repo to run
    caught_by: str  # a test (name prefix) that must be among the failures


def _m(
    runtime: str, name: str, module: str, edits: list[tuple[str, str]], tests: list[str], caught_by: str
) -> Mutation:
    return Mutation(runtime, name, module, tuple(edits), tuple(f"tests/{t}.py" for t in tests), caught_by)


MUTATIONS = [
    # -- token scope: the fake accepts only the documented audience, so every request of the app fails
    _m("responses", "old-token-scope", "auth.py", [(SCOPE, OLD_SCOPE)], ["test_chat"], "test_two_turn_conversation"),
    _m("inference", "old-token-scope", "auth.py", [(SCOPE, OLD_SCOPE)], ["test_chat"], "test_two_turn_conversation"),
    # agents: the chat client's scope is azure-ai-projects' own; TOKEN_SCOPE is what `agent sync` asks for
    _m("agents", "old-token-scope", "auth.py", [(SCOPE, OLD_SCOPE)], ["test_agent_sync"], "test_"),
    # -- Responses
    _m("responses", "stream-error-handling", "chat.py", [
        ("            raise stream_ended_early()\n        except RuntimeError",
         "            return events.get_final_response()\n        except RuntimeError"),
        ("            raise stream_ended_early() from exc", "            raise"),
    ], ["test_failures"], "test_a_stream_that_ends_early_is_one_clear_error"),
    _m("responses", "no-not-found-retry", "chat.py", [
        ("for delay in (*NOT_FOUND_RETRY_DELAYS, None):", "for delay in (None,):"),
    ], ["test_responses"], "test_a_transient_previous_response_not_found_is_retried"),
    _m("responses", "forget-on-any-not-found", "chat.py", [(
        "        from azure.core.exceptions import ClientAuthenticationError\n\n        if missing != started_from",
        "        from azure.core.exceptions import ClientAuthenticationError\n\n"
        "        self._store.forget(conversation_id)\n        if missing != started_from",
    )], ["test_responses"], "test_a_missing_in_turn_response_never_forgets_the_conversation"),
    _m("responses", "no-content-filter-check", "chat.py", [
        ('    if reason == "content_filter":\n        raise reply_filtered()',
         "    if False:\n        raise reply_filtered()"),
    ], ["test_responses"], "test_a_filtered_reply_does_not_move_the_conversation_on"),
    _m("responses", "no-round-separator", "chat.py", [
        ("ROUND_SEPARATOR if said else \"\")", '"")'),
    ], ["test_failures"], "test_a_tool_rounds_preamble_is_set_apart_from_the_answer"),
    _m("responses", "no-prompt-filter-error", "errors.py", [
        ('if isinstance(exc, openai.BadRequestError) and exc.code == "content_filter":', "if False:"),
    ], ["test_failures"], "test_a_filtered_prompt_is_one_clear_error"),
    # -- Inference
    _m("inference", "no-id-rewrite", "chat.py", [
        ('    return raw if re.fullmatch(r"[A-Za-z0-9]{9}", raw) else hashlib.sha256(raw.encode()).hexdigest()[:9]',
         "    return raw"),
    ], ["test_inference_chat"], "test_history_moves_to_a_mistral_deployment"),
    _m("inference", "no-finish-reason-check-stream", "chat.py", [
        ('content, note = finished("".join(parts), tool_calls, finish_reason)', 'content, note = "".join(parts), ""'),
    ], ["test_inference_chat"], "test_a_cut_stream_is_not_stored"),
    _m("inference", "no-finish-reason-check-json", "chat.py", [
        ('content, _ = finished(choice.message.content or "", calls, choice.finish_reason)',
         'content, _ = choice.message.content or "", ""'),
    ], ["test_inference_chat"], "test_a_filtered_reply_is_not_stored"),
    _m("inference", "truncation-not-marked", "chat.py", [
        ("return content + TRUNCATED_NOTE, TRUNCATED_NOTE", 'return content, ""'),
    ], ["test_inference_chat"], "test_a_reply_cut_at_the_token_limit_is_stored_marked"),
    _m("inference", "dropped-connection-message", "errors.py", [
        ('if cause is None or type(cause).__name__ in ("ConnectError", "ConnectTimeout"):', "if True:"),
    ], ["test_failures"], "test_a_connection_dropped_mid_stream_is_one_clear_error"),
    _m("inference", "no-round-separator", "state/loop.py", [
        ('ROUND_SEPARATOR if said else "")', '"")'),
    ], ["test_failures"], "test_a_tool_rounds_preamble_is_set_apart_from_the_answer"),
    # -- Agents
    _m("agents", "conversation-left-behind", "chat.py", [
        ("            if created:\n                self._discard(shown, server_id)", "            pass"),
    ], ["test_agent_chat"], "test_a_failed_first_turn_leaves_no_conversation_behind"),
    _m("agents", "stream-error-handling", "chat.py", [
        ('            raise stream_ended_early("the agent")', "            return final  # type: ignore[return-value]"),
    ], ["test_failures"], "test_a_stream_that_ends_early_is_one_clear_error"),
    _m("agents", "no-content-filter-check", "chat.py", [
        ('details.reason == "content_filter"', "False"),
    ], ["test_failures"], "test_a_filtered_reply_is_one_clear_error"),
    _m("agents", "no-timeout-message", "errors.py", [
        ("if isinstance(exc, openai.APITimeoutError):", "if False:"),
    ], ["test_failures"], "test_a_timeout_is_one_clear_error"),
    _m("agents", "no-round-separator", "chat.py", [
        ('prefix = ROUND_SEPARATOR if said else ""', 'prefix = ""'),
    ], ["test_failures"], "test_a_tool_rounds_preamble_is_set_apart_from_the_answer"),
    # -- review-11 fixes (base, shared by all runtimes: checked on responses)
    _m("responses", "retry-after-dropped", "errors.py", [
        ("retry_after=retry_after,", "retry_after=None,"),
    ], ["test_failures"], "test_a_throttled_turns_retry_after_is_finite_and_capped"),
    _m("responses", "retry-after-uncapped", "errors.py", [
        ("if not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER:", "if False:"),
    ], ["test_failures"], "test_a_throttled_turns_retry_after_is_finite_and_capped"),
    _m("responses", "ctrl-c-mid-reply-escapes", "cli.py", [
        ("except KeyboardInterrupt:  # Ctrl-C mid-reply", "except ZeroDivisionError:  # Ctrl-C mid-reply"),
    ], ["test_cli"], "test_ctrl_c_mid_reply_closes_the_stream_and_says_the_conversation"),
    _m("responses", "repl-leaves-stream-open", "cli.py", [
        ("                stream.close()", "                pass"),
    ], ["test_cli"], "test_ctrl_c_mid_reply_closes_the_stream_and_says_the_conversation"),
    _m("responses", "reply-stream-close-noop", "service.py", [
        ("        if close is not None:\n            close()", "        pass"),
    ], ["test_cli"], "test_a_closed_stream_ends_and_the_conversation_goes_on"),
    _m("responses", "runs-a-cut-tool-call", "chat.py", [
        ("                if note and (calls or asks):", "                if False:"),
    ], ["test_failures"], "test_a_reply_cut_mid_tool_call_runs_no_tool_and_keeps_nothing"),
    _m("agents", "runs-a-cut-tool-call", "chat.py", [
        ('if (calls or approvals) and response.status == "incomplete":', "if False:"),
    ], ["test_failures"], "test_a_reply_cut_mid_tool_call_runs_no_tool_and_keeps_nothing"),
    _m("inference", "runs-a-cut-tool-call", "chat.py", [
        ('if finish_reason == "length":\n        raise cut_mid_tool_call()',
         "if False:\n        raise cut_mid_tool_call()"),
    ], ["test_failures"], "test_a_reply_cut_mid_tool_call_runs_no_tool_and_keeps_nothing"),
    _m("inference", "no-compare-and-set", "state/loop.py", [
        ("expected_length=started_at", "expected_length=None"),
    ], ["test_inference_chat"], "test_a_turn_racing_another_on_the_same_conversation_fails_loudly"),
    _m("inference", "tools-on-the-last-round", "chat.py", [
        ('"tool_choice": omit if allow_tools else "none"', '"tool_choice": omit'),
    ], ["test_inference_chat"], "test_the_last_round_forbids_tools_so_the_turn_ends_in_an_answer"),
]

_FAILED = re.compile(r"^FAILED \S+::(\w+)", re.MULTILINE)


@pytest.mark.slow
@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: f"{m.runtime}-{m.name}")
def test_generated_tests_catch_the_mutation(
    mutation: Mutation, app_repos: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    # Each mutant is a private copy of the runtime's shared repo, run in its shared venv with the copy's `src`
    # first on PYTHONPATH: mutants run side by side (pytest-xdist) and the shared repo is never edited. The copy
    # has no bytecode and writes none, so no stale .pyc of the original can run instead of the mutant.
    repo = working_copy(repo_for(mutation.runtime, app_repos, tmp_path_factory), tmp_path)
    source = repo.root / "src" / repo.package / mutation.module
    mutated = source.read_text(encoding="utf-8")
    for old, new in mutation.edits:
        assert mutated.count(old) == 1, f"{mutation.name}: {old!r} is not in {mutation.module} once; update the list"
        mutated = mutated.replace(old, new)
    source.write_text(mutated, encoding="utf-8")
    env = copy_env(repo, PYTHONDONTWRITEBYTECODE="1")
    command = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *mutation.tests]
    result = repo.run(*command, env=env, timeout=600)
    output = result.stdout + result.stderr
    failed = _FAILED.findall(output)
    print(f"\n{mutation.runtime}/{mutation.name}: {len(failed)} generated tests failed: {sorted(set(failed))[:6]}")
    assert result.returncode == 1, output[-3000:]  # 1 = tests failed (not a crash, not a collection error)
    assert any(name.startswith(mutation.caught_by) for name in failed), output[-3000:]


def test_every_mutation_applies_to_its_template() -> None:
    """Fast guard (no repo built): each edit's text is in the template it mutates, so the slow check stays honest."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    for mutation in MUTATIONS:
        candidates = [
            layer / "{{cookiecutter.project_name}}" / "src" / "{{cookiecutter.package}}" / mutation.module
            for layer in (templates / mutation.runtime, templates / "base")
        ]
        text = next(path for path in candidates if path.is_file()).read_text(encoding="utf-8")
        text = text.replace('"{{ cookiecutter.token_scope }}"', '"https://ai.azure.com/.default"')
        for old, _new in mutation.edits:
            assert text.count(old) == 1, (mutation.runtime, mutation.name, old)
