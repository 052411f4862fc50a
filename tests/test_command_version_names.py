"""``command_version`` of a subcommand or plugin: the output must name it.

A missing plugin can leave its parent command printing its own version
(``docker compose --version`` -> "Docker version 28.2.2" without the Compose
plugin), which must not pass as the plugin's version. Outputs under
``tests/data/command_version/`` were captured from the real commands.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_golive.checks.host.system import command_version, judge_command_version
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.targets.host import HostTarget
from support import require

DATA = Path(__file__).parent / "data" / "command_version"


def captured(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("command, output", [
    ("docker compose", "docker-compose-version-no-plugin.txt"),
    ("podman compose", "podman-compose-version-no-provider.txt"),
])
def test_a_parent_printing_its_own_version_fails(command: str, output: str) -> None:
    outcome = judge_command_version(0, captured(output), command, "2.0", True)
    assert outcome.status == "failed"
    assert f"output does not name '{command.split()[-1]}'" in outcome.observed


def test_a_subcommand_that_names_itself_passes() -> None:
    outcome = judge_command_version(
        0, "Docker Compose version v2.29.7\n", "docker compose", "2.0", True
    )
    assert outcome.status == "passed"


def test_a_single_command_need_not_name_itself() -> None:
    # node prints "v18.19.0" alone; the first word of a command is checked by `command -v`.
    assert judge_command_version(0, "v18.19.0\n", "node", "18", True).status == "passed"
    assert (
        judge_command_version(0, captured("podman-version.txt"), "podman", "4", True).status
        == "passed"
    )


@pytest.mark.real_systems
def test_podman_compose_without_a_provider_fails_on_a_real_host() -> None:
    require(shutil.which("podman") is not None, "podman (Debian package podman)")
    host = HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings())
    try:
        plain = command_version(host, command="podman", min_version="1")
        assert plain.status == "passed", plain.observed
        if shutil.which("podman-compose") or shutil.which("docker-compose"):
            pytest.skip("a compose provider is installed: the case cannot be shown here")
        outcome = command_version(host, command="podman compose", min_version="1")
        assert outcome.status == "failed", outcome.observed
        assert "does not name 'compose'" in outcome.observed
    finally:
        host.close()
