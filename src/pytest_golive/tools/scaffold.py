"""``golive init``: the starter files for a repository that has no readiness suite yet.

Everything written runs as is against the machine running it (``local://``
and a local HTTP port), so the first ``pytest --golive=local`` works before
anyone has configured a real target; the comments show where production
targets and secrets go. Existing files are never overwritten.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

GOLIVE_TOML = '''\
# pytest-golive configuration: environments and the targets their checks run against.
# Reference: docs/configuration.md. Secrets never go here: write ${VAR} and export VAR.

checklists = ["golive.md"]
waivers = "waivers.toml"
# Sign-offs of the lines only a person can check: golive attest 'sign-off/*' --by NAME
attestations = "attestations.toml"

[settings]
connect_timeout = 10
command_timeout = 60

# "local" checks the machine you are on, so the suite runs before anything else is set up.
[environments.local]
description = "This machine: try the checklist here first"

[environments.local.hosts]
app = ["local://"]

# Add the service's own URL to check it too (then bind the Application lines of golive.md):
# [environments.local.endpoints.api]
# url = "http://127.0.0.1:8000"

# A production environment looks like this (uncomment and adapt):
#
# [environments.prod]
# description = "Production"
#
# [environments.prod.hosts]
# app = ["ssh://deploy@app1.example.internal", "ssh://deploy@app2.example.internal"]
#
# [environments.prod.endpoints.api]
# url = "https://api.example.com"
#
# [environments.prod.databases.main]
# dsn = "mysql://readonly:${DB_PASSWORD}@db.example.internal:3306/app"
#
# [environments.prod.files.dotenv]
# path = "/srv/app/.env"
# host = "app"
'''

CHECKLIST_MD = '''\
# Production readiness

Every `- [ ]` line is an item. A `golive` comment binds a line to a check; a line
without one is manual and needs a person's sign-off (`golive attest`).
Run `golive checks` for the catalog, and `golive import FILE` to bind an existing checklist.

## Infrastructure

- [ ] At least 1 CPU online <!-- golive: cpu min=1 -->
- [ ] At least 0.5 GiB of memory <!-- golive: memory min_gib=0.5 -->
- [ ] At least 1 GiB free on / <!-- golive: disk_free path=/ min_gib=1 -->
- [ ] /etc/passwd is a regular file owned by root <!-- golive: file path=/etc/passwd type=file owner=root -->

## Application

Once golive.toml names an endpoint, bind this line with `<!-- golive: http_status path=/health -->`.

- [ ] The health endpoint answers 200

## Sign-off

- [ ] Runbook reviewed by the on-call engineer
- [ ] Release approved by the technical lead
'''  # noqa: E501 - the checklist a user starts from, one line per item

WAIVERS_TOML = '''\
# Accepted exceptions. A waiver needs a reason, an owner and an expiry date;
# once it expires the item blocks again. Reference: docs/concepts.md#waivers.
#
# [[waiver]]
# item = "infrastructure/at-least-1-gib-free-on"
# target = "app"
# reason = "Disk extension scheduled with the hosting provider"
# owner = "ops@example.com"
# ticket = "OPS-1234"
# expires = 2030-01-31
'''

ATTESTATIONS_TOML = '''\
# Sign-offs: a person's record that a line only a person can check is done.
# Written by `golive attest ITEM... --by NAME --ticket TICKET` (ids, globs such as
# 'sign-off/*', or a section); each record keeps the line's text as signed, and a
# reworded line needs signing again. Reference: docs/concepts.md.
'''

CONFTEST_PY = '''\
"""Shared fixtures for this repository's custom readiness checks.

pytest collects checks from ``test_*.py`` files (see test_golive_checks.py);
fixtures they share live here. The plugin's fixtures are available as well:
``golive_host`` (a testinfra host, once per host of the environment),
``golive_endpoint`` (a requests session bound to the endpoint's base URL),
``golive_db`` (a read-only DB-API connection), ``golive_env`` (the environment).
"""

import pytest


@pytest.fixture
def sticky_dirs():
    """World-writable directories that must carry the sticky bit on every host."""
    return ["/tmp", "/var/tmp"]
'''

TEST_PY = '''\
"""Custom readiness checks, written as plain pytest tests (see docs/custom-checks.md).

A test marked with a section marker (infrastructure, security, database, ...)
is part of the readiness checklist: it runs with ``pytest --golive=ENV`` once per
host of the environment and counts in the go/no-go verdict like a line of
golive.md.
"""

import pytest


@pytest.mark.infrastructure
def test_world_writable_dirs_are_sticky(golive_host, sticky_dirs):
    """Users cannot delete each other's files in shared temporary directories."""
    for path in sticky_dirs:
        directory = golive_host.file(path)
        if not directory.exists:
            continue
        assert directory.mode & 0o1000, (
            f"{path} mode is {directory.mode:04o}: the sticky bit (1000) is not set"
        )
'''


def templates() -> dict[str, str]:
    """File name -> content of every file ``golive init`` writes."""
    return {
        "golive.toml": GOLIVE_TOML,
        "golive.md": CHECKLIST_MD,
        "waivers.toml": WAIVERS_TOML,
        "attestations.toml": ATTESTATIONS_TOML,
        "conftest.py": CONFTEST_PY,
        "test_golive_checks.py": TEST_PY,
    }


def scaffold_init(directory: Path, out: TextIO = sys.stdout) -> int:
    """Write the starter files into ``directory``; keep any that already exist.

    Returns 0, or 4 (usage error) when ``directory`` is not a directory.
    """
    directory = Path(directory)
    if not directory.is_dir():
        print(
            f"golive init: {directory}: not a directory",
            file=sys.stderr if out is sys.stdout else out,
        )
        return 4
    for name, content in templates().items():
        target = directory / name
        if target.exists():
            print(f"  kept     {target} (already exists)", file=out)
            continue
        target.write_text(content, encoding="utf-8")
        print(f"  created  {target}", file=out)
    print(
        "\nnext: pytest --golive=local --golive-manual=warn"
        "\n      (then bind your own checklist: golive import CHECKLIST.md)",
        file=out,
    )
    return 0
