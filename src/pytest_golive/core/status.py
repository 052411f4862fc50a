"""The status of one item result, and how each is shown: one table for every output.

The terminal (pytest's letters and words, the summary columns), the HTML and
Markdown reports and the JSON counts all read a status's word, letter, icon
and colour from here, so a status cannot look different in two places.

``warning`` is never decided: it is how a failed or errored item that does
not block (severity warning) is *shown* (:meth:`Status.shown`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Look:
    """How one status is shown."""

    #: pytest's word in the progress line and short summary ("warned", "pending").
    word: str
    #: pytest's progress letter.
    letter: str
    #: The upper-case label of the reports ("WAIVED", "WARNING").
    label: str
    #: Terminal colour when it blocks the release and when it does not.
    colour: str
    colour_not_blocking: str
    #: The HTML report's icon and short css class; the label is always shown beside it.
    icon: str
    css: str
    #: Column header of the terminal summary.
    header: str
    #: pytest's verbose word (``-v``, short summary, the terminal's reasons); the label if empty.
    short: str = ""

    @property
    def verbose(self) -> str:
        return self.short or self.label


class Status(StrEnum):
    """What an item (a checklist line on one target) came to."""

    FAILED = "failed"
    ERROR = "error"
    NOT_CONFIGURED = "not-configured"
    MANUAL_PENDING = "manual-pending"
    WARNING = "warning"
    WAIVED = "waived"
    MANUAL_ATTESTED = "manual-attested"
    PASSED = "passed"
    SKIPPED = "skipped"

    @property
    def look(self) -> Look:
        return _LOOKS[self]

    @property
    def word(self) -> str:
        return self.look.word

    @property
    def letter(self) -> str:
        return self.look.letter

    @property
    def label(self) -> str:
        return self.look.label

    @property
    def verbose(self) -> str:
        return self.look.verbose

    @property
    def icon(self) -> str:
        return self.look.icon

    @property
    def css(self) -> str:
        return self.look.css

    @property
    def header(self) -> str:
        return self.look.header

    def colour(self, blocking: bool) -> str:
        return self.look.colour if blocking else self.look.colour_not_blocking

    def shown(self, blocking: bool) -> Status:
        """The status a person reads: a failure that does not block is a warning."""
        if self in _BAD and not blocking:
            return Status.WARNING
        return self

    @property
    def decided(self) -> bool:
        """Whether the item was judged at all (a skipped item says nothing)."""
        return self is not Status.SKIPPED

    def teststatus(self, blocking: bool) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """What ``pytest_report_teststatus`` answers; ``None``: pytest's own is right."""
        shown = self.shown(blocking)
        if shown in (Status.PASSED, Status.SKIPPED, Status.FAILED):
            return None
        look = shown.look
        return look.word, look.letter, (look.verbose, {shown.colour(blocking): True})

    @classmethod
    def of(cls, value: str | Status) -> Status:
        return value if isinstance(value, Status) else cls(value)


_BAD = frozenset({Status.FAILED, Status.ERROR, Status.NOT_CONFIGURED})

_LOOKS: dict[Status, Look] = {
    Status.FAILED: Look("failed", "F", "FAILED", "red", "yellow", "✗", "fail", "failed"),
    Status.ERROR: Look("error", "E", "ERROR", "red", "yellow", "⚠", "err", "error"),
    Status.NOT_CONFIGURED: Look("not configured", "N", "NOT CONFIGURED", "red", "yellow", "∅",
                                "err", "not-configured"),
    Status.MANUAL_PENDING: Look("pending", "P", "PENDING", "red", "yellow", "?", "pend", "pending"),
    Status.WARNING: Look("warned", "w", "WARNING", "yellow", "yellow", "!", "warn", "warning",
                         "WARN"),
    Status.WAIVED: Look("waived", "W", "WAIVED", "yellow", "yellow", "⊘", "waiv", "waived"),
    Status.MANUAL_ATTESTED: Look("attested", "A", "ATTESTED", "green", "green", "✎", "att",
                                 "attested"),
    Status.PASSED: Look("passed", ".", "PASSED", "green", "green", "✓", "pass", "passed"),
    Status.SKIPPED: Look("skipped", "s", "SKIPPED", "yellow", "yellow", "–", "skip", "skipped"),
}


#: (status, blocking) -> the status shown: asked for every cell of every summary.
_SHOWN = {(s.value, blocking): s.shown(blocking).value
          for s in Status for blocking in (True, False)}


def display_status(result: dict[str, object]) -> str:
    """The shown status of a result as plain data (the JSON form of an item result)."""
    status = str(result["status"])
    shown = _SHOWN.get((status, bool(result.get("blocking"))))
    return shown if shown is not None else Status(status).value
