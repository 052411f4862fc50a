"""``container``: a container on a host is running, healthy, stable, non-root, pinned.

Observation is one ``docker inspect`` (or ``podman inspect``, the same
document) on the host; :func:`judge_container` judges the parsed document, a
pure function tested on output captured from a real engine.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Literal

from pytest_golive.checks.containers._common import ImageRef, root_user
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.host import HostTarget

Engine = Literal["auto", "docker", "podman"]
ContainerProperty = Literal[
    "running", "healthy", "restarts", "restart_policy", "non_root", "pinned_image"
]
DEFAULT_PROPERTIES: list[str] = ["running", "healthy", "restarts", "non_root", "pinned_image"]

#: Marks "no such container" apart from the engine failing, whatever its wording.
_ABSENT = 4
#: No engine on the host.
_NO_ENGINE = 3


#: What the checks read, one JSON value a line, in the inspect document's own nesting.
#: A template keeps the rest (the container's environment above all, which holds its
#: secrets) on the host: nothing else reaches this machine or its logs. Not the id:
#: Docker's templates say ``.Id``, Podman's ``.ID``.
FIELDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("State", "Status"), "{{json .State.Status}}"),
    (("State", "Running"), "{{json .State.Running}}"),
    (("State", "Restarting"), "{{json .State.Restarting}}"),
    (("State", "StartedAt"), "{{json .State.StartedAt}}"),
    (("State", "FinishedAt"), "{{json .State.FinishedAt}}"),
    (("State", "ExitCode"), "{{json .State.ExitCode}}"),
    (
        ("State", "Health", "Status"),
        "{{if .State.Health}}{{json .State.Health.Status}}{{else}}null{{end}}",
    ),
    (
        ("State", "Health", "FailingStreak"),
        "{{if .State.Health}}{{json .State.Health.FailingStreak}}{{else}}0{{end}}",
    ),
    (("RestartCount",), "{{json .RestartCount}}"),
    (("Config", "User"), "{{json .Config.User}}"),
    (("Config", "Image"), "{{json .Config.Image}}"),
    (
        ("Config", "Healthcheck", "Test"),
        "{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{else}}null{{end}}",
    ),
    (("HostConfig", "RestartPolicy", "Name"), "{{json .HostConfig.RestartPolicy.Name}}"),
)
#: One line of template (``{{"\\n"}}`` prints the newlines), so the command stays one line too.
TEMPLATE = '{{"\\n"}}'.join(t for _, t in FIELDS)


def inspect_command(engine: str, name: str) -> str:
    """One command: the engine's ``inspect`` of ``name``; exit 4 if there is no such container.

    With ``auto``, docker then podman: the first that knows the container answers,
    so a docker client without a running daemon does not hide podman's containers.
    """
    engines = "docker podman" if engine == "auto" else engine
    inspect = f"container inspect --format {shlex.quote(TEMPLATE)} {shlex.quote(name)}"
    return (
        'found=0; absent=0; err=""; rc=0; '
        f"for e in {engines}; do command -v $e >/dev/null 2>&1 || continue; found=1; "
        f"out=$($e {inspect} 2>&1); r=$?; "
        'if [ $r -eq 0 ]; then echo "@@engine $e"; printf \'%s\\n\' "$out"; exit 0; fi; '
        'case "$out" in *[Nn]o\\ such*|*"no container"*) absent=1;; '
        '*) err="$e: $out"; rc=$r;; esac; '
        "done; [ $found -eq 1 ] || exit 3; [ $absent -eq 0 ] || exit 4; "
        "printf '%s\\n' \"$err\" >&2; exit $rc"
    )


def parse_inspect(text: str, where: str) -> tuple[str, dict[str, Any]]:
    """(engine, the container's document) from :func:`inspect_command`'s output.

    Also reads a whole ``inspect`` document (a JSON array), as the engines print it
    without ``--format``.
    """
    head, _, body = text.strip().partition("\n")
    engine = "?"
    if head.startswith("@@engine"):
        engine = head.removeprefix("@@engine").strip()
    else:
        body = text.strip()
    if body.startswith("["):
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            raise CheckError(f"{where}: the engine's inspect output is not JSON") from None
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise CheckError(f"{where}: the engine's inspect output holds no container")
        return engine, data[0]
    lines = body.splitlines()
    if len(lines) != len(FIELDS):
        raise CheckError(
            f"{where}: the engine answered {len(lines)} lines to inspect, not {len(FIELDS)}"
        )
    doc: dict[str, Any] = {}
    for (path, _), line in zip(FIELDS, lines, strict=True):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            raise CheckError(
                f"{where}: the engine's inspect output is not JSON ({'.'.join(path)})"
            ) from None
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return engine, doc


def _health(state: dict[str, Any]) -> dict[str, Any]:
    # Docker and Podman 4.x+ say State.Health; Podman 3 said State.Healthcheck.
    for key in ("Health", "Healthcheck"):
        value = state.get(key)
        if isinstance(value, dict):
            return value
    return {}


def judge_container(
    doc: dict[str, Any],
    *,
    require: list[str],
    max_restarts: int = 0,
    restart_policies: list[str] | None = None,
    image: str | None = None,
    require_digest: bool = False,
) -> Evidence:
    state = doc.get("State") or {}
    config = doc.get("Config") or {}
    host_config = doc.get("HostConfig") or {}
    ev = Evidence()
    for prop in require:
        if prop == "running":
            status = str(state.get("Status", "?"))
            if state.get("Running") is True and status == "running":
                seen = f"running since {state.get('StartedAt', '?')}"
            else:
                seen = status + (
                    f" (exit code {state.get('ExitCode')}, at {state.get('FinishedAt')})"
                    if status in ("exited", "stopped", "dead")
                    else ""
                )
            ev.add(
                "running",
                state.get("Running") is True and not state.get("Restarting"),
                seen,
                "running",
            )
        elif prop == "healthy":
            health = _health(state)
            status = str(health.get("Status") or "")
            test = (config.get("Healthcheck") or config.get("HealthCheck") or {}).get("Test") or []
            defined = bool(status) or (bool(test) and str(test[0]).upper() != "NONE")
            if not defined:
                ev.add("healthy", False, "no health check defined", "healthy")
            else:
                streak = health.get("FailingStreak")
                seen = (status or "no result yet") + (
                    f" (failing streak {streak})" if streak else ""
                )
                ev.add("healthy", status == "healthy", seen, "healthy")
        elif prop == "restarts":
            count = int(doc.get("RestartCount") or 0)
            ev.add(
                "restarts",
                count <= max_restarts,
                f"restarted {count} times",
                f"<= {max_restarts} restarts",
            )
        elif prop == "restart_policy":
            policy = host_config.get("RestartPolicy") or {}
            name = str(policy.get("Name") or "no")
            allowed = restart_policies or ["unless-stopped", "always"]
            ev.add(
                "restart_policy", name in allowed, f"restart policy {name}", " or ".join(allowed)
            )
        elif prop == "non_root":
            user = str(config.get("User") or "")
            root = root_user(user)
            seen = f"user {user}" if user else "no user (root)"
            ev.add("non_root", root is False, seen, "a non-root user")
        elif prop == "pinned_image":
            reference = str(config.get("Image") or doc.get("ImageName") or "")
            ref = ImageRef.parse(reference)
            problem = ref.pin_problem(require_digest=require_digest)
            ok = problem is None
            expected = (
                "an image by digest" if require_digest else "an image by tag (not latest) or digest"
            )
            seen = f"image {reference or '?'}" + (f": {problem}" if problem else "")
            if image:
                hit = ref.matches([image])
                ok = ok and hit is not None
                expected += f", matching {image}"
                if hit is None:
                    seen += f" (not {image})"
            ev.add("pinned_image", ok, seen, expected)
    return ev


@check(target="host", aliases=("container_running", "docker_container"))
def container(
    host: HostTarget,
    *,
    name: list[str],
    require: list[ContainerProperty] | None = None,
    engine: Engine = "auto",
    max_restarts: int = 0,
    restart_policies: list[str] | None = None,
    image: str | None = None,
    require_digest: bool = False,
) -> Outcome:
    """Containers on the host are running, healthy, not restarting, non-root, from pinned images.

    One ``docker inspect`` (or ``podman inspect``) per container on the host, read-only.
    Properties, one fact per container:

    * ``running``: the container runs (not exited, not restarting);
    * ``healthy``: its health check says healthy (no health check fails);
    * ``restarts``: it restarted at most ``max_restarts`` times;
    * ``restart_policy``: its restart policy is one of ``restart_policies`` (ask for it);
    * ``non_root``: its user is not root (an empty user is root);
    * ``pinned_image``: it was created from an image by tag (not latest) or digest, and
      matching ``image`` when given.

    A container that does not exist fails. Docker's socket usually needs root or the
    ``docker`` group: set ``sudo = true`` on the host if the account cannot read it.

    Args:
        name: the containers' names or ids (``api,worker``); a variable such as
            ``${containers}``.
        require: the properties to check (default: running, healthy, restarts, non_root,
            pinned_image).
        engine: ``docker``, ``podman``, or ``auto`` (docker if installed, else podman).
        max_restarts: the most restarts allowed.
        restart_policies: the acceptable restart policies (default: unless-stopped, always).
        image: a shell glob the image reference must match (``registry.example.com/api:*``).
        require_digest: ``pinned_image`` needs an ``@sha256:`` digest.
    """
    wanted = [str(p) for p in (require or DEFAULT_PROPERTIES)]
    names = [n for n in (name if isinstance(name, list) else [name]) if str(n).strip()]
    ev = Evidence()
    engines: dict[str, str] = {}
    statuses: dict[str, Any] = {}
    for one in names:
        prefix = f"{one}: " if len(names) > 1 else ""
        found = _inspect(host, engine, one)
        if found is None:
            ev.add(f"{prefix}exists", False, f"no container {one}", f"a container {one}")
            continue
        engines[one], doc = found
        statuses[one] = (doc.get("State") or {}).get("Status")
        judged = judge_container(
            doc,
            require=wanted,
            max_restarts=max_restarts,
            restart_policies=restart_policies,
            image=image,
            require_digest=require_digest,
        )
        for fact in judged.facts:
            ev.add(prefix + fact["fact"], fact["ok"], fact["observed"], fact["expected"])
    return ev.outcome(containers=names, engine=engines, status=statuses, required=wanted)


def _inspect(host: HostTarget, engine: str, name: str) -> tuple[str, dict[str, Any]] | None:
    """(engine, inspect document) of one container; None if no engine knows it."""
    result = host.run(inspect_command(engine, name))
    where = f"host {host.name}"
    if result.rc == _NO_ENGINE:
        what = "docker or podman" if engine == "auto" else engine
        raise CheckError(f"{where}: {what} is not installed (set engine= to the one the host uses)")
    if result.rc == _ABSENT:
        return None
    if result.rc != 0:
        why = " ".join(str(result.stderr).split())[:200] or f"exit status {result.rc}"
        hint = (
            " (the account cannot reach the engine: set sudo = true on the host?)"
            if "permission denied" in why.lower()
            else ""
        )
        raise CheckError(f"{where}: inspect {name} failed: {mask(why)}{hint}")
    return parse_inspect(str(result.stdout), where)


def _validate(params: dict[str, Any]) -> None:
    if int(params.get("max_restarts", 0)) < 0:
        raise ValueError("max_restarts must not be negative")
    if not [n for n in params.get("name") or [] if str(n).strip()]:
        raise ValueError("name must name a container")


# Collection calls this, so a binding that can never run fails with its checklist line.
container.golive_validate = _validate  # type: ignore[attr-defined]
