"""The check reference (``docs/checks.md``), generated from the catalog.

A check's name, target kind, parameters and documentation all live on the
check function itself; this module only lays them out, so the reference can
never disagree with what collection validates. ``golive docs`` writes it and
the test suite fails when the committed file is stale.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from pytest_golive.checks.registry import REGISTRY, Check, Param, Registry

REFERENCE_PATH = Path("docs") / "checks.md"

_KIND_TITLES = {
    "host": "Hosts",
    "endpoint": "Endpoints",
    "database": "Databases",
    "file": "Configuration files",
    "none": "Without a target",
}


def render_check_reference(registry: Registry = REGISTRY) -> str:
    """The whole reference page as Markdown, in a stable order (kind, then name)."""
    checks = registry.all()
    kinds = [k for k in _KIND_TITLES if any(c.target == k for c in checks)]
    out = [
        "# Check reference",
        "",
        "<!-- Generated from the check catalog by `golive docs`. Do not edit by hand. -->",
        "",
        f"The catalog has {len(checks)} checks. Bind a checklist line to one with",
        "`<!-- golive: CHECK key=value ... -->`; `golive checks` prints the same catalog,",
        "and `golive checks --format json` prints it as data.",
        "",
        "| Check | Target | Summary |",
        "|-------|--------|---------|",
    ]
    for kind in kinds:
        for chk in (c for c in checks if c.target == kind):
            out.append(f"| [`{chk.name}`](#{_anchor(chk.name)}) | {kind} | {_cell(chk.summary)} |")
    for kind in kinds:
        out += ["", f"## {_KIND_TITLES[kind]}", ""]
        for chk in (c for c in checks if c.target == kind):
            out += _render_check(chk)
    return "\n".join(out).rstrip() + "\n"


def _render_check(chk: Check) -> list[str]:
    lines = [f"### {chk.name}", ""]
    meta = [f"**Target:** {chk.target}"]
    if chk.aliases:
        meta.append("**Aliases:** " + ", ".join(f"`{a}`" for a in chk.aliases))
    if chk.opt_in:
        meta.append("**Opt-in:** runs only when asked for (it sends load or has side effects)")
    source = _source(REGISTRY.origin(chk.name))
    if source:
        meta.append(f"**From:** {source}")
    lines += [" · ".join(meta), ""]
    summary, body = _split_doc(chk.doc)
    lines += [summary, ""]
    if chk.params:
        lines += [
            "| Parameter | Type | Default | Required | Description |",
            "|-----------|------|---------|----------|-------------|",
        ]
        lines += [_param_row(p) for p in chk.params]
        lines.append("")
    if body:
        lines += [body, ""]
    example = " ".join([chk.name, *(f"{p.name}=…" for p in chk.params if p.required)])
    lines += [f"Binding: `<!-- golive: {example} -->`", ""]
    return lines


def _param_row(param: Param) -> str:
    default = "" if param.required else _format_default(param.default)
    required = "yes" if param.required else "no"
    kind, doc = _cell(param.type_name()), _cell(param.doc)
    return f"| `{param.name}` | {kind} | {default} | {required} | {doc} |"


def _format_default(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (list, tuple)):
        return "`" + ",".join(map(str, value)) + "`" if value else "empty"
    try:
        text = json.dumps(value) if isinstance(value, (int, float)) else str(value)
    except (TypeError, ValueError):
        text = repr(value)
    return f"`{_cell(text)}`" if text else '`""`'


def _split_doc(doc: str) -> tuple[str, str]:
    """(summary line, the rest without the Args: block, which is in the table)."""
    text = inspect.cleandoc(doc or "")
    lines = text.splitlines()
    summary = lines[0].strip() if lines else ""
    body: list[str] = []
    skipping = False
    for line in lines[1:]:
        if line.strip() in ("Args:", "Parameters:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        body.append(line)
    return summary, "\n".join(body).strip()


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _source(origin: str) -> str:
    """Where a check not of the package comes from, as a reader of the reference needs it.

    A pack by its name and distribution (not the path it is installed at), a
    project's own check by its file; nothing for the package's own checks.
    """
    path, _, rest = origin.partition(" (")
    if rest:
        return rest[:-1]  # "check pack 'acme' (...)" or "plugin 'x' of golive.toml"
    if not path or "pytest_golive/checks/" in path.replace("\\", "/"):
        return ""
    return f"`{path}`"


def _anchor(name: str) -> str:
    return name.lower()


