"""Ports as checklists and parameters name them: ``22``, ``80/tcp``, ``8000-8010/udp``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_golive.core.outcome import CheckError

#: Where administrative tools live; a plain account's PATH often lacks them.
SBIN_PATH = "PATH=$PATH:/usr/sbin:/sbin:/usr/local/sbin; export PATH; "


@dataclass(frozen=True)
class PortRule:
    """One allowed port (or range) for a protocol; ``any`` matches tcp and udp."""

    low: int
    high: int
    protocol: str = "any"

    def covers(self, protocol: str, port: int) -> bool:
        return self.protocol in ("any", protocol) and self.low <= port <= self.high

    def __str__(self) -> str:
        ports = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return ports if self.protocol == "any" else f"{ports}/{self.protocol}"


def parse_ports(values: Iterable[str], what: str) -> list[PortRule]:
    """``22``, ``80/tcp``, ``53/udp``, ``8000-8010/tcp`` (or ``8000:8010``)."""
    rules = []
    for value in values:
        m = re.fullmatch(
            r"\s*(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?\s*(?:/\s*(tcp|udp))?\s*", value, re.I
        )
        if not m:
            raise CheckError(f"{what}: {value!r} is not a port such as 22, 80/tcp or 8000-8010/tcp")
        low = int(m.group(1))
        high = int(m.group(2) or low)
        rules.append(PortRule(low, high, (m.group(3) or "any").lower()))
    return rules
