"""``compose_service``: every service of a Compose project is fit for production.

Observation reads the Compose files through a host (``local://`` for the
machine running pytest) and builds the merged model with Compose's own rules
(:mod:`.compose_model`); judgement (:func:`judge_services`) is a pure function
of that model and the parameters, one fact per service and property, so the
evidence says which service lacks what.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pytest_golive.checks.containers._common import (
    SETTING_KEY,
    TRIVIAL,
    ImageRef,
    plural,
    read_on_host,
    root_user,
)
from pytest_golive.checks.containers.compose_model import (
    Defaulted,
    Interpolated,
    Project,
    load_project,
)
from pytest_golive.checks.containers.dockerfile import healthcheck_program, stages
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import Secret, looks_secret
from pytest_golive.targets.host import HostTarget


class ComposeProperty(StrEnum):
    """What ``compose_service`` can require of each service."""

    HEALTHCHECK = "healthcheck"
    RESTART = "restart"
    LIMITS = "limits"
    NAMED_VOLUMES = "named_volumes"
    NON_ROOT = "non_root"
    PINNED_IMAGE = "pinned_image"
    NO_PRIVILEGED = "no_privileged"
    NO_HOST_NETWORK = "no_host_network"
    NO_INLINE_SECRETS = "no_inline_secrets"


#: The same names as a parameter type (the registry coerces checklist text to a Literal).
ComposePropertyName = Literal[
    "healthcheck",
    "restart",
    "limits",
    "named_volumes",
    "non_root",
    "pinned_image",
    "no_privileged",
    "no_host_network",
    "no_inline_secrets",
]
ALL_PROPERTIES = [p.value for p in ComposeProperty]
DEFAULT_RESTART = ["unless-stopped", "always"]


@dataclass(frozen=True)
class BuiltImage:
    """What the Dockerfile a service builds from gives its image (USER, HEALTHCHECK)."""

    dockerfile: str
    user: str | None
    user_line: int | None
    healthcheck: str | None
    healthcheck_line: int | None


def built_images(
    project: Project, read: Callable[[str], str | None], names: list[str]
) -> dict[str, BuiltImage | str]:
    """For each service built here, its final (or ``build.target``) stage; else why not.

    Paths are relative to the project directory (the first file's), as Compose resolves them.
    """
    base = posixpath.dirname(project.files[0])
    out: dict[str, BuiltImage | str] = {}
    for name in names:
        build = project.services[name].get("build")
        if build is None:
            continue
        spec = {"context": build} if isinstance(build, str) else dict(build or {})
        context = str(spec.get("context") or ".")
        if "://" in context or context.startswith("git@"):
            out[name] = f"built from a remote context {context}"
            continue
        if spec.get("dockerfile_inline"):
            where, text = f"{name}'s dockerfile_inline", str(spec["dockerfile_inline"])
        else:
            where = posixpath.normpath(
                posixpath.join(base, context, str(spec.get("dockerfile") or "Dockerfile"))
            )
            found = read(where)
            if found is None:
                out[name] = f"its Dockerfile {where} is not there"
                continue
            text = found
        built = stages(text, where)
        target = str(spec.get("target") or "").lower()
        final = next((st for st in built if st.name == target), built[-1]) if target else built[-1]
        user, by = final.effective("user")
        hc, hc_by = final.effective("healthcheck")
        out[name] = BuiltImage(where, user, by.user_line, hc, hc_by.healthcheck_line)
    return out


def _healthcheck(
    name: str, svc: dict[str, Any], image: BuiltImage | str | None
) -> tuple[bool, str]:
    hc = svc.get("healthcheck")
    if isinstance(hc, dict) and hc.get("disable") is True:
        return False, "healthcheck disabled (disable: true)"
    test = hc.get("test") if isinstance(hc, dict) else None
    if test is None:
        if isinstance(image, BuiltImage) and image.healthcheck is not None:
            disabled = image.healthcheck.upper() == "NONE"
            return not disabled, (
                f"no healthcheck in Compose; HEALTHCHECK "
                f"{'NONE (disabled)' if disabled else healthcheck_program(image.healthcheck)} "
                f"in {image.dockerfile} (line {image.healthcheck_line})"
            )
        why = f" ({image})" if isinstance(image, str) else ""
        if isinstance(image, BuiltImage):
            why = f" and no HEALTHCHECK in {image.dockerfile}"
        return False, "no healthcheck" + why
    words = [str(w) for w in test] if isinstance(test, list) else ["CMD-SHELL", str(test)]
    if not words or words[0].upper() == "NONE":
        return False, "healthcheck test NONE (disabled)"
    # The command itself may carry credentials (curl -u): only its program is shown.
    form = words[0].upper() if words[0].upper() in ("CMD", "CMD-SHELL") else "CMD"
    program = (words[1] if len(words) > 1 and form in ("CMD", "CMD-SHELL") else words[0]).split()[
        :1
    ]
    options = hc if isinstance(hc, dict) else {}
    timing = ", ".join(
        f"{k} {options[k]}" for k in ("interval", "timeout", "retries") if k in options
    )
    return True, f"healthcheck {form} {program[0] if program else '?'}" + (
        f" ({timing})" if timing else ""
    )


def _restart(name: str, svc: dict[str, Any], allowed: list[str]) -> tuple[bool, str]:
    policy = svc.get("restart")
    deploy = (
        (svc.get("deploy") or {}).get("restart_policy")
        if isinstance(svc.get("deploy"), dict)
        else None
    )
    if policy is None and isinstance(deploy, dict) and deploy.get("condition"):
        # Swarm's condition "any" restarts whatever the exit, as "always" does.
        condition = str(deploy["condition"])
        effective = {"any": "always"}.get(condition, condition)
        return effective in allowed, f"deploy.restart_policy.condition {condition}"
    if policy is None:
        return False, "no restart policy (Compose's default is no)"
    text = str(policy)
    return text in allowed or text.split(":", 1)[0] in allowed, f"restart: {text}"


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _limits(name: str, svc: dict[str, Any]) -> tuple[bool, str]:
    deploy = _table(svc, "deploy")
    limits = _table(_table(deploy, "resources"), "limits")
    memory = limits.get("memory") or svc.get("mem_limit")
    cpus = limits.get("cpus") or svc.get("cpus") or svc.get("cpu_quota")
    seen = []
    if memory:
        seen.append(f"memory {memory}")
    if cpus:
        seen.append(f"cpus {cpus}")
    missing = [what for what, v in (("memory", memory), ("CPU", cpus)) if not v]
    observed = ", ".join(seen) if seen else "no limits"
    if missing:
        observed += f" (no {' or '.join(missing)} limit)"
    return not missing, observed


def _bind_allowed(source: str, target: str, allowed: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(source, p) or fnmatch.fnmatchcase(target, p) for p in allowed)


def _named_volumes(
    name: str, svc: dict[str, Any], allowed: list[str], declared: dict[str, Any]
) -> tuple[bool, str]:
    volumes = [v for v in svc.get("volumes") or [] if isinstance(v, dict)]
    if not volumes:
        return True, "no volumes"
    bad, named, undeclared = [], [], []
    for vol in volumes:
        kind = str(vol.get("type", "volume"))
        source = str(vol.get("source") or "")
        target = str(vol.get("target") or "")
        if kind == "bind" and not _bind_allowed(source, target, allowed):
            bad.append(f"bind mount {source} -> {target}")
        elif kind == "volume" and source:
            named.append(source)
            if source not in declared:
                undeclared.append(source)
        elif kind == "volume":
            bad.append(f"anonymous volume at {target}")
    parts = []
    if named:
        parts.append("named " + ", ".join(named))
    if bad:
        parts.append("; ".join(bad))
    if undeclared:
        parts.append(f"not declared under top-level volumes: {', '.join(undeclared)}")
    return not bad and not undeclared, "; ".join(parts) or "tmpfs only"


def _non_root(name: str, svc: dict[str, Any], image: BuiltImage | str | None) -> tuple[bool, str]:
    user = svc.get("user")
    root = root_user(None if user is None else str(user))
    if root is None and isinstance(image, BuiltImage):
        if image.user is None:
            return False, f"no user: set, and {image.dockerfile} sets no USER (root)"
        built_root = root_user(image.user)
        return built_root is False and "$" not in image.user, (
            f"no user: set; USER {image.user} in {image.dockerfile} (line {image.user_line})"
        )
    if root is None:
        why = f" ({image})" if isinstance(image, str) else ""
        return (
            False,
            "no user: set (runs as the image's USER, root unless the image says otherwise)" + why,
        )
    return not root, f"user: {user}"


def _pinned(name: str, svc: dict[str, Any], require_digest: bool) -> tuple[bool, str]:
    image = svc.get("image")
    if not image:
        if svc.get("build") is not None:
            ctx = (
                svc["build"]
                if isinstance(svc["build"], str)
                else (svc["build"] or {}).get("context", ".")
            )
            return (
                not require_digest,
                f"no image: built from {ctx} (pin the Dockerfile's base image)",
            )
        return False, "no image"
    ref = ImageRef.parse(str(image))
    problem = ref.pin_problem(require_digest=require_digest)
    return problem is None, f"image {ref.text}" + (f": {problem}" if problem else "")


def _no_privileged(name: str, svc: dict[str, Any]) -> tuple[bool, str]:
    caps = [str(c) for c in svc.get("cap_add") or []]
    if svc.get("privileged") is True or str(svc.get("privileged")).lower() == "true":
        return False, "privileged: true"
    if any(c.upper() in ("ALL", "CAP_ALL") for c in caps):
        return False, "cap_add: ALL"
    return True, "not privileged" + (f" (cap_add: {', '.join(caps)})" if caps else "")


def _no_host_network(name: str, svc: dict[str, Any]) -> tuple[bool, str]:
    mode = svc.get("network_mode")
    if mode is not None and str(mode) == "host":
        return False, "network_mode: host"
    return True, f"network_mode: {mode}" if mode else "own network namespace"


_FILE_KEY = ("_FILE", "_PATH", "_DIR")


def inline_secrets(svc: dict[str, Any]) -> list[tuple[str, int]]:
    """(key, length) of every environment value that is a literal under a secret-looking name.

    A value built from ``${VAR}`` comes from the deployment's environment, and a
    ``*_FILE`` path names a secret file: neither is a secret written in the file.
    """
    env = svc.get("environment")
    if not isinstance(env, dict):
        return []
    found = []
    for key, value in env.items():
        key = str(key)
        if value is None or (isinstance(value, Interpolated) and not isinstance(value, Defaulted)):
            continue
        text = str(value)
        password = _url_password(text)
        if password:
            Secret(password, key)
            found.append((f"{key} (password in the URL)", len(password)))
            continue
        if not looks_secret(key) or SETTING_KEY.search(key) or text.strip().lower() in TRIVIAL:
            continue
        if not text.strip() or (key.upper().endswith(_FILE_KEY) and text.startswith("/")):
            continue
        Secret(text, key)  # masked in every output from here on
        where = " (its default is written in the file)" if isinstance(value, Defaulted) else ""
        found.append((key + where, len(text)))
    return found


def _url_password(text: str) -> str | None:
    if "://" not in text or "@" not in text:
        return None
    try:
        return urlsplit(text.strip()).password or None
    except ValueError:
        return None


def _no_inline_secrets(name: str, svc: dict[str, Any]) -> tuple[bool, str]:
    found = inline_secrets(svc)
    if not found:
        refs = sum(
            1
            for k, v in (svc.get("environment") or {}).items()
            if looks_secret(str(k)) and v is not None
        )
        return True, "no literal secret in environment" + (
            f" ({plural(refs, 'secret')} from variables or files)" if refs else ""
        )
    shown = ", ".join(f"{k}, a value of {n} characters" for k, n in found)
    return False, f"secrets written in the file: {shown}"


_EXPECTED = {
    ComposeProperty.HEALTHCHECK: "a healthcheck with a test",
    ComposeProperty.LIMITS: "memory and CPU limits (deploy.resources.limits or mem_limit/cpus)",
    ComposeProperty.NON_ROOT: "user: a non-root user or uid",
    ComposeProperty.NO_PRIVILEGED: "not privileged, no cap_add: ALL",
    ComposeProperty.NO_HOST_NETWORK: "not network_mode: host",
    ComposeProperty.NO_INLINE_SECRETS: "secrets from ${VAR}, env_file or secrets:, not in the file",
}


def judge_services(
    project: Project,
    *,
    require: list[str],
    services: list[str] | None = None,
    restart_policies: list[str] | None = None,
    allow_bind_mounts: list[str] | None = None,
    require_digest: bool = False,
    profiles: list[str] | None = None,
    images: dict[str, BuiltImage | str] | None = None,
) -> Evidence:
    """One fact per (service, required property) of the merged model.

    ``images`` holds what the Dockerfiles of built services say (:func:`built_images`):
    their USER and HEALTHCHECK count when the Compose file sets neither.
    """
    built = images or {}
    ev = Evidence()
    chosen = _chosen(project, services, profiles)
    policies = restart_policies or DEFAULT_RESTART
    allowed_binds = allow_bind_mounts or []
    judges: dict[ComposeProperty, Callable[[str, dict[str, Any]], tuple[bool, str]]] = {
        ComposeProperty.HEALTHCHECK: lambda n, s: _healthcheck(n, s, built.get(n)),
        ComposeProperty.RESTART: lambda n, s: _restart(n, s, policies),
        ComposeProperty.LIMITS: _limits,
        ComposeProperty.NAMED_VOLUMES: lambda n, s: _named_volumes(
            n, s, allowed_binds, project.volumes
        ),
        ComposeProperty.NON_ROOT: lambda n, s: _non_root(n, s, built.get(n)),
        ComposeProperty.PINNED_IMAGE: lambda n, s: _pinned(n, s, require_digest),
        ComposeProperty.NO_PRIVILEGED: _no_privileged,
        ComposeProperty.NO_HOST_NETWORK: _no_host_network,
        ComposeProperty.NO_INLINE_SECRETS: _no_inline_secrets,
    }
    expected = dict(_EXPECTED)
    expected[ComposeProperty.RESTART] = "restart: " + " or ".join(policies)
    expected[ComposeProperty.NAMED_VOLUMES] = "named volumes only" + (
        f" (bind mounts allowed: {', '.join(allowed_binds)})" if allowed_binds else ""
    )
    expected[ComposeProperty.PINNED_IMAGE] = (
        "an image by digest" if require_digest else "an image by tag (not latest) or digest"
    )
    for name in chosen:
        for prop in (ComposeProperty(p) for p in require):
            ok, observed = judges[prop](name, project.services[name])
            ev.add(f"{name}: {prop.value}", ok, observed, expected[prop])
    return ev


def active_services(project: Project, profiles: list[str] | None) -> list[str]:
    """The services ``docker compose up`` starts with these profiles active.

    A service with ``profiles:`` runs only when one of them is active (15-profiles.md).
    """
    active = set(profiles or [])
    out = []
    for name, svc in sorted(project.services.items()):
        own = svc.get("profiles")
        if not own or "*" in active or active & {str(p) for p in own}:
            out.append(name)
    return out


def _chosen(project: Project, services: list[str] | None, profiles: list[str] | None) -> list[str]:
    if not project.services:
        raise CheckError(f"Compose file {project.files[0]}: defines no services")
    if not services:
        running = active_services(project, profiles)
        if not running:
            raise CheckError(
                f"Compose file {project.files[0]}: no service runs with profiles "
                f"{', '.join(profiles or []) or '(none)'}"
            )
        return running
    unknown = [s for s in services if s not in project.services]
    if unknown:
        raise CheckError(
            f"Compose file {project.files[0]}: no service {', '.join(unknown)} "
            f"(services: {', '.join(sorted(project.services))})"
        )
    return list(services)


def host_reader(host: HostTarget) -> Callable[[str], str | None]:
    """Reads files through ``host``; None for a file that is not there."""
    cache: dict[str, str | None] = {}

    def read(path: str) -> str | None:
        if path not in cache:
            # One read that may find nothing, not a look and then a read: fewer round trips.
            try:
                cache[path] = read_on_host(host, path, "Compose file")
            except CheckError as exc:
                if not str(exc).endswith(" does not exist"):
                    raise
                cache[path] = None
        return cache[path]

    return read


@check(target="host", aliases=("docker_compose", "compose"))
def compose_service(
    host: HostTarget,
    *,
    path: str,
    require: list[ComposePropertyName] | None = None,
    services: list[str] | None = None,
    overrides: list[str] | None = None,
    env_file: str | None = None,
    restart_policies: list[str] | None = None,
    allow_bind_mounts: list[str] | None = None,
    require_digest: bool = False,
    profiles: list[str] | None = None,
) -> Outcome:
    """Every service of a Compose project has what production needs (health, restarts, limits, ...).

    The files are read through the host (``local://`` for the machine running
    pytest) and merged as ``docker compose config`` merges them: ``${VAR}``
    interpolation from the project's ``.env`` per file, then the override
    files in order, ``extends`` (same or other file), ``!reset``,
    ``!override`` and ``include``. Each required property is one fact per service:

    * ``healthcheck``: a healthcheck with a test (not ``NONE``, not disabled), or, for a
      ``build:`` service, a ``HEALTHCHECK`` in its Dockerfile;
    * ``restart``: ``restart:`` (or ``deploy.restart_policy``) is one of ``restart_policies``;
    * ``limits``: a memory and a CPU limit (``deploy.resources.limits``, or ``mem_limit``/``cpus``);
    * ``named_volumes``: volumes are named and declared; no bind mount or anonymous volume
      unless ``allow_bind_mounts`` names it;
    * ``non_root``: ``user:`` is set and is not root/0; unset, the ``USER`` of the
      Dockerfile a ``build:`` service builds from counts (of an image pulled by name,
      nothing is visible here, so it fails);
    * ``pinned_image``: ``image:`` has a tag that is not latest/stable/edge/... or a digest;
    * ``no_privileged``: not ``privileged: true``, no ``cap_add: ALL``;
    * ``no_host_network``: not ``network_mode: host``;
    * ``no_inline_secrets``: no secret-looking ``environment:`` key has a literal value
      (values from ``${VAR}``, ``*_FILE`` paths and ``secrets:`` pass); values are never shown.

    Args:
        path: the Compose file on the host (absolute, or relative to the host's working directory:
            for ``local://``, where pytest runs); use a variable such as ``${compose_file}``.
        require: the properties to check (default: all).
        services: only these services (default: every service of the merged model).
        overrides: further files merged in this order, as ``-f`` would, relative to the first file's
            directory; default: Compose's ``compose.override.yaml`` next to ``compose.yaml``,
            if there.
        env_file: the file ``${VAR}`` reads, relative to the first file's directory
            (default: ``.env``
            there, if present). Unset variables read as empty, as Compose does, and are listed.
        restart_policies: the acceptable restart policies.
        allow_bind_mounts: host paths or container targets (shell globs) that may be bind-mounted.
        require_digest: ``pinned_image`` needs an ``@sha256:`` digest, a tag is not enough.
        profiles: the profiles production runs with (``COMPOSE_PROFILES``); a service with
            ``profiles:`` none of which is listed is not started, so it is not judged
            (``*``: every service).
    """
    wanted = [str(p) for p in (require or ALL_PROPERTIES)]
    read = host_reader(host)
    project = load_project(read, path, overrides=overrides, env_file=env_file)
    judged = services or active_services(project, profiles)
    images = {}
    if {"healthcheck", "non_root"} & set(wanted):
        images = built_images(project, read, [n for n in judged if n in project.services])
    ev = judge_services(
        project,
        require=wanted,
        services=services,
        restart_policies=restart_policies,
        allow_bind_mounts=allow_bind_mounts,
        require_digest=require_digest,
        profiles=profiles,
        images=images,
    )
    return ev.outcome(
        files=project.files,
        env_file=project.env_file,
        unset_variables=project.unset_variables,
        services=sorted(judged),
        not_started=sorted(set(project.services) - set(judged)) if not services else [],
        required=wanted,
    )
