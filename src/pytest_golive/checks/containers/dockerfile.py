"""``dockerfile``: a Dockerfile builds a production image (stages, user, health, base, secrets).

The file is parsed by ``dockerfile-parse`` (instructions, line numbers,
continuation lines, ``ARG`` substitution in ``FROM``); :func:`stages` turns
its instructions into build stages and :func:`judge_dockerfile` judges them,
a pure function of the text and the parameters.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Literal

from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import extract_key_values

from pytest_golive.checks.containers._common import (
    SETTING_KEY,
    TRIVIAL,
    ImageRef,
    plural,
    read_on_host,
    root_user,
)
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import Secret, looks_secret
from pytest_golive.targets.host import HostTarget

DockerfileProperty = Literal[
    "multi_stage", "non_root", "healthcheck", "pinned_base", "allowed_base", "no_secrets"
]
ALL_PROPERTIES: list[str] = [
    "multi_stage",
    "non_root",
    "healthcheck",
    "pinned_base",
    "allowed_base",
    "no_secrets",
]

#: Base images made for running, not building: no compiler, no package manager or a minimal one.
MINIMAL_BASES = [
    "scratch",
    "*distroless*",
    "*-slim",
    "*-slim-*",
    "*:slim",
    "*alpine*",
    "*chainguard*",
    "*ubi*-minimal*",
    "*ubi*-micro*",
    "busybox:*",
    "*-minimal",
    "*-minimal-*",
    "*:nonroot",
]

_FLAG = re.compile(r"^--[a-z-]+=\S+\s+")


@dataclass
class Stage:
    """One ``FROM`` and the instructions under it."""

    index: int
    line: int
    base: str  # as written after ARG substitution
    name: str | None
    parent: Stage | None  # an earlier stage this one builds on
    user: str | None = None
    user_line: int | None = None
    healthcheck: str | None = None
    healthcheck_line: int | None = None
    copies_from: list[str] = field(default_factory=list)
    env_keys: list[tuple[str, int, int]] = field(default_factory=list)  # key, line, value length
    arg_keys: list[tuple[str, int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or f"stage {self.index}"

    def effective(self, attr: str) -> tuple[str | None, Stage]:
        """``user`` or ``healthcheck`` as the built image has it (inherited from a parent stage)."""
        stage: Stage | None = self
        while stage is not None:
            if getattr(stage, attr) is not None:
                return getattr(stage, attr), stage
            stage = stage.parent
        return None, self

    def external_base(self) -> str:
        stage = self
        while stage.parent is not None:
            stage = stage.parent
        return stage.base


def stages(text: str, where: str) -> list[Stage]:
    """The build stages of a Dockerfile, in order."""
    logging.getLogger("dockerfile_parse").setLevel(logging.ERROR)
    try:
        parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
        structure = parser.structure
        parents = parser.parent_images
    except Exception as exc:  # noqa: BLE001 - the parser's message may quote the file
        raise CheckError(f"Dockerfile {where}: cannot parse ({type(exc).__name__})") from None
    out: list[Stage] = []
    by_name: dict[str, Stage] = {}
    froms = 0
    for instr in structure:
        kind = str(instr["instruction"]).upper()
        value = str(instr["value"])
        line = int(instr["startline"]) + 1
        if kind == "FROM":
            words = _FLAG.sub("", value).split()
            base = parents[froms] if froms < len(parents) else (words[0] if words else "")
            froms += 1
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            parent = by_name.get(base.lower()) if base else None
            stage = Stage(len(out), line, base, name, parent)
            out.append(stage)
            if name:
                by_name[name] = stage
            continue
        if not out:
            continue  # ARG before the first FROM: only FROM lines use them
        stage = out[-1]
        if kind == "USER":
            stage.user, stage.user_line = value.strip(), line
        elif kind == "HEALTHCHECK":
            stage.healthcheck, stage.healthcheck_line = value.strip(), line
        elif kind in ("COPY", "ADD"):
            m = re.search(r"--from=(\S+)", value)
            if m:
                stage.copies_from.append(m.group(1))
        elif kind == "ENV":
            for key, val in extract_key_values(
                env_replace=False, args={}, envs={}, instruction_value=value
            ):
                if looks_secret(key) and val:
                    Secret(val, key)
                # A boolean or 0/1 holds no secret whatever its name (AUTH_ENABLED=true).
                stage.env_keys.append(
                    (key, line, 0 if val.strip().lower() in TRIVIAL else len(val))
                )
        elif kind == "ARG":
            for part in value.split():
                key, _, val = part.partition("=")
                if looks_secret(key) and val:
                    Secret(val.strip("'\""), key)
                stage.arg_keys.append((key, line))
    if not out:
        raise CheckError(f"Dockerfile {where}: no FROM instruction")
    return out


def judge_dockerfile(
    all_stages: list[Stage],
    *,
    require: list[str],
    allowed_bases: list[str] | None = None,
    require_digest: bool = False,
) -> Evidence:
    ev = Evidence()
    final = all_stages[-1]
    for prop in require:
        if prop == "multi_stage":
            names = ", ".join(s.label for s in all_stages)
            uses = final.parent is not None or bool(final.copies_from)
            ok = len(all_stages) >= 2 and uses
            observed = f"{plural(len(all_stages), 'stage')} ({names})"
            if len(all_stages) >= 2 and not uses:
                observed += (
                    "; the final stage takes nothing from the others"
                    " (no COPY --from, not FROM a stage)"
                )
            ev.add("multi_stage", ok, observed, ">= 2 stages, the final one built from the others")
        elif prop == "non_root":
            user, where = final.effective("user")
            base = final.external_base()
            if user is None:
                by_tag = ImageRef.parse(base).tag == "nonroot"
                ev.add(
                    "non_root",
                    by_tag,
                    f"no USER in the final stage ({final.label})"
                    + (
                        "; its base image's nonroot tag runs as uid 65532"
                        if by_tag
                        else ": runs as root"
                    ),
                    "USER a non-root user in the final stage",
                )
            else:
                root = root_user(user)
                unresolved = "$" in user
                ok = root is False and not unresolved
                note = " (a variable: cannot tell here)" if unresolved else ""
                ev.add(
                    "non_root",
                    ok,
                    f"USER {user}{note} (line {where.user_line}, {where.label})",
                    "USER a non-root user in the final stage",
                )
        elif prop == "healthcheck":
            hc, where = final.effective("healthcheck")
            if hc is None:
                ev.add(
                    "healthcheck",
                    False,
                    f"no HEALTHCHECK in the final stage ({final.label})",
                    "a HEALTHCHECK",
                )
            else:
                disabled = hc.upper() == "NONE"
                shown = healthcheck_program(hc)
                ev.add(
                    "healthcheck",
                    not disabled,
                    f"HEALTHCHECK {'NONE (disabled)' if disabled else shown}"
                    f" (line {where.healthcheck_line})",
                    "a HEALTHCHECK",
                )
        elif prop == "pinned_base":
            problems, pinned = [], []
            for stage in all_stages:
                if stage.parent is not None or stage.base.lower() == "scratch":
                    continue
                ref = ImageRef.parse(stage.base)
                problem = ref.pin_problem(require_digest=require_digest)
                if problem:
                    problems.append(f"FROM {stage.base} (line {stage.line}): {problem}")
                else:
                    pinned.append(stage.base)
            expected = (
                "every FROM by digest"
                if require_digest
                else "every FROM by tag (not latest) or digest"
            )
            ev.add(
                "pinned_base",
                not problems,
                "; ".join(problems) or "pinned: " + ", ".join(pinned or ["scratch"]),
                expected,
            )
        elif prop == "allowed_base":
            base = final.external_base()
            patterns = allowed_bases or MINIMAL_BASES
            hit = "scratch" if base.lower() == "scratch" else ImageRef.parse(base).matches(patterns)
            shown = (
                ", ".join(patterns)
                if allowed_bases
                else "a minimal image (slim, alpine, distroless, ...)"
            )
            ev.add(
                "allowed_base",
                hit is not None,
                f"final image FROM {base}" + (f" (matches {hit})" if hit else ""),
                shown,
            )
        elif prop == "no_secrets":
            found = []
            for stage in all_stages:
                for key, line, length in stage.env_keys:
                    if looks_secret(key) and length and not SETTING_KEY.search(key):
                        found.append(f"ENV {key} (line {line}, a value of {length} characters)")
                for key, line in stage.arg_keys:
                    if looks_secret(key) and not SETTING_KEY.search(key):
                        found.append(
                            f"ARG {key} (line {line}: build arguments stay in the image history)"
                        )
            ev.add(
                "no_secrets",
                not found,
                "; ".join(found) or "no secret-looking ENV or ARG",
                "secrets from RUN --mount=type=secret or at run time, not ENV/ARG",
            )
    return ev


def healthcheck_program(value: str) -> str:
    """``CMD curl`` from a HEALTHCHECK value: the form and the program, never its arguments."""
    words = value.split(None, 1)
    while words and words[0].startswith("--"):
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words:
        return "?"
    form = words[0].upper()
    rest = words[1].strip() if len(words) > 1 else ""
    if rest.startswith("["):
        try:
            program = str((json.loads(rest) or ["?"])[0])
        except (ValueError, IndexError):
            program = rest[1:].split(",")[0].strip(' "')
    else:
        program = (rest.split() or ["?"])[0]
    return f"{form} {program}"


@check(target="host", aliases=("dockerfile_production",))
def dockerfile(
    host: HostTarget,
    *,
    path: str,
    require: list[DockerfileProperty] | None = None,
    allowed_bases: list[str] | None = None,
    require_digest: bool = False,
) -> Outcome:
    """A Dockerfile builds a production image: multi-stage, non-root, health-checked, pinned.

    Read through the host (``local://`` for the repository on the machine running pytest) and
    parsed with dockerfile-parse; ``ARG`` defaults are applied to ``FROM`` lines. The
    final stage is the image that ships; what it inherits from an earlier stage
    (``FROM build``) counts as its own. Properties:

    * ``multi_stage``: at least two stages, and the final one takes something from the others;
    * ``non_root``: the final stage's ``USER`` is not root (none at all is root, except a
      ``:nonroot`` base image);
    * ``healthcheck``: the final stage has a ``HEALTHCHECK`` that is not ``NONE``;
    * ``pinned_base``: every external ``FROM`` has a tag that is not latest/stable/... or a digest;
    * ``allowed_base``: the final image's base matches ``allowed_bases`` (default: minimal
      images: slim, alpine, distroless, chainguard, UBI minimal/micro, scratch, ``:nonroot``);
    * ``no_secrets``: no secret-looking ``ENV`` with a value and no secret-looking ``ARG``
      (both stay in the image); values are never shown.

    Args:
        path: the Dockerfile on the host; use a variable such as ``${dockerfile}``.
        require: the properties to check (default: all).
        allowed_bases: shell globs over the final base image (``python:3.12-slim*``,
            ``gcr.io/distroless/*``), replacing the built-in list of minimal images.
        require_digest: ``pinned_base`` needs ``@sha256:`` digests, tags are not enough.
    """
    wanted = [str(p) for p in (require or ALL_PROPERTIES)]
    text = read_on_host(host, path, "Dockerfile")
    parsed = stages(text, f"{host.name}:{path}")
    ev = judge_dockerfile(
        parsed, require=wanted, allowed_bases=allowed_bases, require_digest=require_digest
    )
    return ev.outcome(
        file=path,
        stages=[{"name": s.label, "from": s.base, "line": s.line} for s in parsed],
        required=wanted,
    )
