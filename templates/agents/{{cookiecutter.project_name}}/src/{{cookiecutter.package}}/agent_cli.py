"""The `agent` command of {{ cookiecutter.project_name }}.

`agent sync` makes the project's agent match its declared definition; `agent show` prints that definition.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from {{ cookiecutter.package }}.settings import load_settings


def register(subparsers: Any) -> None:
    """Add the `agent` command to the app's command line (called by cli.build_parser)."""
    agent = subparsers.add_parser("agent", help="manage the Foundry agent this app chats with")
    actions = agent.add_subparsers(dest="agent_command", required=True, metavar="ACTION")

    sync = actions.add_parser(
        "sync", help="create a new agent version only if the definition (agent.py + settings) changed"
{%- if 'agent' in cookiecutter.tools %},
        description="specialist agents first (their version, incoming A2A and RemoteA2A connection), then this one"
{%- endif %}
    )
    sync.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a new version is needed (for CI)"
    )
    sync.set_defaults(handler=_sync)

    show = actions.add_parser("show", help="print the declared definition and its fingerprint (no request)")
    show.set_defaults(handler=_show)


def _sync(args: argparse.Namespace) -> int:
    from {{ cookiecutter.package }}.agent import project_client, sync_all

    settings = load_settings()
    project = project_client(settings)
    # Connection and vector store names are looked up on the project; specialists (if any) come first.
    lines, up_to_date = sync_all(project, settings, check=args.check)
    print("\n".join(lines))
    return 0 if up_to_date else 1


def _show(_args: argparse.Namespace) -> int:
    from {{ cookiecutter.package }}.agent import declared_agent

    spec = declared_agent(load_settings())
    shown = {"name": spec.name, "description": spec.description, "definition": spec.definition,
             "fingerprint": spec.fingerprint}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0
