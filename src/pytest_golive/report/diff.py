"""What changed between two runs: new failures, fixed items, new waivers.

Items are matched by (environment, item id, target), not by pytest node id,
so moving a checklist file or renaming its directory does not turn every
item into "new".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_golive.core.status import display_status

BAD = ("failed", "error", "manual-pending", "warning")
GOOD = ("passed", "manual-attested", "skipped")


def _key(result: dict[str, Any]) -> tuple[str, str, str]:
    return (result.get("environment") or "", result["id"], result.get("target") or "")


def label(result: dict[str, Any]) -> str:
    target = f" [{result['target']}]" if result.get("target") else ""
    env = f"{result['environment']}: " if result.get("environment") else ""
    return f"{env}{result['id']}{target}"


@dataclass
class Change:
    item: str
    title: str
    before: str | None
    after: str | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "title": self.title, "before": self.before,
                "after": self.after, "detail": self.detail}


@dataclass
class Diff:
    new_failures: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    new_waivers: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    verdict_before: str = ""
    verdict_after: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict_before": self.verdict_before,
            "verdict_after": self.verdict_after,
        }
        for name in ("new_failures", "fixed", "new_waivers", "still_failing", "added", "removed"):
            out[name] = [c.to_dict() for c in getattr(self, name)]
        return out


def compare(old: dict[str, Any], new: dict[str, Any]) -> Diff:
    """Compare two report documents (``RunResults.to_dict()`` shape)."""
    before = {_key(r): r for r in old.get("results", [])}
    after = {_key(r): r for r in new.get("results", [])}
    diff = Diff(verdict_before=old.get("verdict", {}).get("verdict", ""),
                verdict_after=new.get("verdict", {}).get("verdict", ""))
    for key, now in after.items():
        was = before.get(key)
        s_now = display_status(now)
        s_was = display_status(was) if was else None
        change = Change(label(now), now.get("title", ""), s_was, s_now, _evidence(now))
        if was is None:
            diff.added.append(change)
        if s_now in BAD and s_was not in BAD:
            diff.new_failures.append(change)
        elif s_now in BAD:
            diff.still_failing.append(change)
        elif s_was in BAD and s_now in GOOD:
            diff.fixed.append(change)
        if s_now == "waived" and s_was != "waived":
            change = Change(label(now), now.get("title", ""), s_was, s_now, now.get("message", ""))
            diff.new_waivers.append(change)
    for key, was in before.items():
        if key not in after:
            diff.removed.append(Change(label(was), was.get("title", ""), display_status(was), None))
    return diff


def _evidence(result: dict[str, Any]) -> str:
    observed, expected = result.get("observed") or "", result.get("expected") or ""
    if observed or expected:
        return f"observed {observed}" + (f", expected {expected}" if expected else "")
    return (result.get("message") or "").splitlines()[0] if result.get("message") else ""


def format_text(diff: Diff) -> str:
    lines = [f"verdict: {diff.verdict_before or '-'} -> {diff.verdict_after or '-'}"]
    for title, changes in (("new failures", diff.new_failures), ("fixed", diff.fixed),
                           ("new waivers", diff.new_waivers), ("still failing", diff.still_failing),
                           ("new items", diff.added), ("removed items", diff.removed)):
        lines.append(f"{title}: {len(changes)}")
        for c in changes:
            move = f"{c.before or 'absent'} -> {c.after or 'absent'}"
            lines.append(f"  {c.item}  ({move})" + (f"  {c.detail}" if c.detail else ""))
    return "\n".join(lines)
