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
#: Values that read as a setting, not a secret: a variable that holds "true" is
#: a switch, and masking the word would garble every sentence that uses it
#: ("set sudo = true on the target") while hiding nothing.
NOT_SECRET_WORDS = frozenset({"true", "false", "yes", "no", "none", "null", "on", "off"})

_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|"
    r"credential|auth|signature|salt|cookie|session[_-]?key|access[_-]?key|dsn)",
    re.IGNORECASE,
)


def looks_secret(key: str) -> bool:
    """Whether a configuration key name suggests its value is a secret."""
    return bool(_SECRET_KEY.search(key))


_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


class Masker:
    """Remembers secret values and replaces them in any text.

    Thread-safe, because host checks run concurrently across hosts.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        #: Whether some secret holds a character that JSON escapes (see found_in_json).
        self._json_escaped = False
        #: Changes whenever the known secrets change: data masked under an older
        #: generation may hold a secret learned since, so caches compare it.
        self.generation = 0

    def add(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        if value.strip().lower() in NOT_SECRET_WORDS:
            return
        variants = {value}
        # Drivers and URL builders may show a value percent-encoded.
        from urllib.parse import quote, quote_plus

        variants.update({quote(value, safe=""), quote_plus(value)})
        variants.update(base64_forms(value))
        with self._lock:
            new = variants - self._values
            if new:
                self._values |= new
                self._pattern = None
                self.generation += 1
                self._json_escaped = self._json_escaped or any(
                    _JSON_ESCAPED.search(v) for v in new)

    @property
    def active(self) -> bool:
        """Whether any secret is known (cheap: asked for every line written)."""
        return bool(self._values)

    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None
            self.generation += 1

    def _compiled(self) -> re.Pattern[str]:
        with self._lock:
            if self._pattern is None:
                ordered = sorted(self._values, key=len, reverse=True)
                # Any case: an upper-cased token or a lower-cased header shows the same secret.
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)
            return self._pattern

    def mask(self, text: str) -> str:
        if not text or not self._values:
            return text
        return self._compiled().sub(MASK, text)

    def found_in_json(self, text: str) -> bool:
        """Whether a secret may appear in ``text``, the JSON form of some data.

        A secret holding a character JSON escapes (a quote, a backslash, a
        control character) would not be found as it is: then say "maybe".
        """
        if not self._values:
            return False
        if self._json_escaped:
            return True
        return self._compiled().search(text) is not None


#: Shortest run of base64 characters masked as the encoding of part of a secret.
MIN_BASE64_CORE = 8


def base64_forms(value: str) -> set[str]:
    """How ``value`` looks base64-encoded, alone or inside a longer text.

    Basic auth sends ``base64("user:" + password)``, tokens are passed on
    base64-encoded: the secret's bytes then sit at some offset in what is
    encoded. Each group of three bytes that is all secret encodes to the same
    four characters whatever comes before, given the offset modulo 3; so the
    run of such groups, for each of the three offsets, is masked wherever it
    appears (the one or two characters at each end that also encode
    neighbouring bytes stay, and say nothing). Standard and URL-safe alphabets.
    """
    import base64

    raw = value.encode("utf-8")
    forms = {base64.b64encode(raw).decode("ascii")}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        first, end = (1 if offset else 0), (offset + len(raw)) // 3
        core = encoded[4 * first: 4 * end]
        if len(core) >= MIN_BASE64_CORE:
            forms.add(core)
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


MASKER = Masker()


def mask(text: str) -> str:
    """Replace every known secret value in ``text`` by ``*****``."""
    return MASKER.mask(text)


def secret(value: str) -> str:
    """Mark ``value`` secret and give it back: masked from now on in every output.

    For a value a custom check reads itself (``os.environ["API_TOKEN"]``, a
    file, a vault)::

        token = pytest_golive.secret(os.environ["API_TOKEN"])
    """
    MASKER.add(value)
    return value


class MaskingStream:
    """A text stream that masks secrets in what is written to it (``-s``, ``tee-sys``).

    Everything else (``isatty``, ``fileno``, ``encoding``, ``buffer``) is the
    wrapped stream's own.
    """

    def __init__(self, stream: Any) -> None:
        self.golive_wrapped = stream

    def write(self, text: str) -> int:
        self.golive_wrapped.write(MASKER.mask(text) if MASKER.active else text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.golive_wrapped, name)




def is_clean(data: Any) -> bool:
    """Whether ``data`` is plain JSON data with no secret in it (then masking changes nothing).

    One pass of the C JSON encoder instead of a walk in Python over every
    record: a run with thousands of items masks each record once.
    """
    import json

    odd: list[Any] = []

    def other(value: Any) -> None:
        odd.append(value)  # a Secret, a set, an object: not plain data

    try:
        text = json.dumps(data, ensure_ascii=False, default=other, check_circular=False)
    except (TypeError, ValueError):  # keys that are not strings, numbers or booleans
        return False
    return not odd and not MASKER.found_in_json(text)


def mask_data(data: Any) -> Any:
    """Mask every string inside plain data (dicts, lists, tuples)."""
    if isinstance(data, (dict, list)) and is_clean(data):
        return data
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


