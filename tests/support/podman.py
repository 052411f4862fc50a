"""Real containers for the tests: Debian's podman with private storage, nothing from a registry.

The image is made here: a root file system holding copies of this machine's
``/bin/sh`` and ``/bin/sleep`` with the libraries they load, turned into an
image by ``podman import``. Storage, run state and temporary files live under
the test session's temporary directory (``CONTAINERS_STORAGE_CONF`` and
``CONTAINERS_CONF`` point there), so nothing system-wide is touched, and
every container runs with ``--network=none``.

Two things about this sandbox are configured rather than assumed: crun refuses
the machine's hybrid cgroup layout ("cgroups in hybrid mode not supported"),
so the containers run under runc with the cgroupfs manager; and podman's
default ulimits (1048576 open files) are above the sandbox's hard limit, so the
containers get the current limits instead. Health checks are run on demand
(``podman healthcheck run``): their timers need systemd, which is not running.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import require

IMAGE = "localhost/golive-tiny:1.0"
_TOOLS = ("podman", "runc", "conmon")


def podman_available() -> tuple[bool, str]:
    missing = [t for t in _TOOLS if not shutil.which(t)]
    if missing:
        return False, ", ".join(missing) + " (Debian packages podman, runc, conmon)"
    if os.geteuid() != 0:
        return False, "root (podman with its own storage under the test's temporary directory)"
    return True, ""


@dataclass
class Podman:
    """A private podman: run containers, inspect them, remove them."""

    root: Path
    env: dict[str, str]
    started: list[str] = field(default_factory=list)

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["podman", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
        return result

    def run(
        self, name: str, *options: str, command: tuple[str, ...] = ("/bin/sleep", "600")
    ) -> str:
        """Start a detached container from the test image; removed at the end of the session."""
        self.started.append(name)
        self("run", "-d", "--name", name, "--network=none", *options, IMAGE, *command)
        return name


def _rootfs_tar(workdir: Path) -> Path:
    """A tar of a root file system with /bin/sh, /bin/sleep and /bin/true and their libraries."""
    rootfs = workdir / "rootfs"
    for binary in ("/bin/sh", "/bin/sleep", "/bin/true", "/bin/false"):
        real = Path(binary)
        dest = rootfs / binary.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(real.resolve(), dest)
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
        for word in out.split():
            if word.startswith("/") and Path(word).exists():
                lib = rootfs / word.lstrip("/")
                lib.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(word).resolve(), lib)
    (rootfs / "etc").mkdir(exist_ok=True)
    (rootfs / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/:/bin/sh\n"
    )
    (rootfs / "etc" / "group").write_text("root:x:0:\napp:x:10001:\n")
    tar = workdir / "rootfs.tar"
    with tarfile.open(tar, "w") as out_tar:
        out_tar.add(rootfs, arcname=".")
    return tar


def _below(kind: int, wanted: int) -> int:
    soft, _ = resource.getrlimit(kind)
    return wanted if soft == resource.RLIM_INFINITY else min(wanted, soft)


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    """A podman with the test image imported; its containers are removed at the end."""
    ok, why = podman_available()
    require(ok, why)
    root = tmp_path_factory.mktemp("podman")
    # Well below any hard limit of this process: runc may lower a limit, never raise it.
    nofile = _below(resource.RLIMIT_NOFILE, 1024)
    nproc = _below(resource.RLIMIT_NPROC, 1024)
    (root / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{root / "graph"}"\nrunroot = "{root / "run"}"\n'
    )
    (root / "containers.conf").write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        'netns = "none"\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{root / "events.log"}"\n'
        f'tmp_dir = "{root / "tmp"}"\n'
        f'static_dir = "{root / "static"}"\n'
        f'volume_path = "{root / "volumes"}"\n'
    )
    env = {
        **os.environ,
        "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
        "CONTAINERS_CONF": str(root / "containers.conf"),
    }
    pm = Podman(root, env)
    pm("import", "--change", 'CMD ["/bin/sleep", "600"]', str(_rootfs_tar(root)), IMAGE)
    try:
        yield pm
    finally:
        for name in pm.started:
            pm("rm", "-f", "-t", "0", name, check=False)
        pm("rmi", "-af", check=False)


@pytest.fixture
def podman_env(podman: Podman, monkeypatch: pytest.MonkeyPatch) -> Podman:
    """The test's process (and a pytester run it starts) sees the private podman's storage."""
    for key in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF"):
        monkeypatch.setenv(key, podman.env[key])
    return podman
