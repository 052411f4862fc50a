"""Secret values and the one masker every output path goes through.

A secret is wrapped in :class:`Secret` the moment it is read (``${VAR}`` in the
configuration, a password in a DSN, a header marked secret, a value a config
check reads from a key that looks secret). Its ``repr`` and ``str`` never show
the value, so it cannot leak through ``--showlocals`` or an f-string by accident.

Wrapping is not enough on its own: the revealed value must be handed to
drivers (pymysql, requests, ssh), and a driver's exception message or a local
variable in a traceback may carry it. Therefore every revealed value is also
registered with the process-wide :data:`MASKER`, and every output path
(terminal reports, JUnit, JSON, HTML, captured logs, xdist messages) passes its
text through :func:`mask` before writing it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "*****"

#: Values shorter than this are not masked: masking "1" or "on" would destroy
#: every report while protecting nothing a guesser could not guess.
MIN_SECRET_LENGTH = 4

_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|"
    r"credential|auth|signature|salt|cookie|session[_-]?key|access[_-]?key|dsn)",
    re.IGNORECASE,
)


def looks_secret(key: str) -> bool:
    """Whether a configuration key name suggests its value is a secret."""
    return bool(_SECRET_KEY.search(key))


class Masker:
    """Remembers secret values and replaces them in any text.

    Thread-safe, because host checks run concurrently across hosts.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        variants = {value}
        # Drivers and URL builders may show a value percent-encoded.
        from urllib.parse import quote, quote_plus

        variants.update({quote(value, safe=""), quote_plus(value)})
        with self._lock:
            new = variants - self._values
            if new:
                self._values |= new
                self._pattern = None

    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def mask(self, text: str) -> str:
        if not text or not self._values:
            return text
        with self._lock:
            if self._pattern is None:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            pattern = self._pattern
        return pattern.sub(MASK, text)


MASKER = Masker()


def mask(text: str) -> str:
    """Replace every known secret value in ``text`` by ``*****``."""
    return MASKER.mask(text)


def mask_data(data: Any) -> Any:
    """Mask every string inside plain data (dicts, lists, tuples)."""
    if isinstance(data, str):
        return MASKER.mask(data)
    if isinstance(data, Secret):
        return MASK
    if isinstance(data, dict):
        return {mask_data(k): mask_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(mask_data(v) for v in data)
    return data


class Secret:
    """A value that must never be printed.

    ``str()``, ``repr()`` and ``format()`` give ``*****``; only
    :meth:`reveal` gives the value, and callers do that at the last moment,
    right where a driver needs it.
    """

    __slots__ = ("_value", "_source")
    _value: str
    _source: str

    def __init__(self, value: str, source: str = "") -> None:
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_source", source)
        MASKER.add(value)

    def reveal(self) -> str:
        return self._value

    @property
    def source(self) -> str:
        """Where the value came from (``${DB_PASSWORD}``), safe to print."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret({self._source or MASK})" if self._source else f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        # Pickling (xdist, multiprocessing) must not carry the value around.
        raise TypeError("Secret values cannot be pickled")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")


def reveal(value: Any) -> Any:
    """The plain value behind a :class:`Secret`, or ``value`` itself."""
    return value.reveal() if isinstance(value, Secret) else value


def register_all(values: Iterable[str]) -> None:
    for value in values:
        MASKER.add(value)
