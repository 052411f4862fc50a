"""Record what real systems answer a check, and replay it: the pure tests' source of truth.

A *recording* is one check run once on a real host or database server: the
commands (or queries) it sent, exactly what came back, and the outcome the
check gave. ``capture.py`` in ``tests/data/host/`` and ``tests/data/database/``
makes recordings against real systems; the parser tests replay them through
the same check code with no system at all (:class:`ReplayHost`,
:class:`ReplayDatabase`), so the parsing and judging of real output is tested
in milliseconds.

Large outputs (a package list) are kept once per system in a side file named
by their content's hash, referenced as ``stdout_file``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_golive.checks.registry import REGISTRY
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.host import HostTarget

DATA = Path(__file__).parent
#: Outputs longer than this go to a side file.
SIDE_FILE_OVER = 8192


def formatted(command: str, args: tuple[Any, ...]) -> str:
    """The command text ``HostTarget.run`` sends for ``command`` and ``args``."""
    return command % tuple(shlex.quote(str(a)) for a in args) if args else command


def plain(value: Any) -> Any:
    """A driver value as JSON can hold it (rows carry Decimals, datetimes, bytes, sets)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (dt.datetime, dt.date, dt.timedelta)):
        return {"time": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(value).decode("utf-8", "replace")}
    if isinstance(value, dict):
        return {"dict": [[plain(k), plain(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return {"repr": repr(value)}


def unplain(value: Any) -> Any:
    """The inverse of :func:`plain`, as near as replay needs (Decimal back; times as text)."""
    if isinstance(value, list):
        return [unplain(v) for v in value]
    if isinstance(value, dict):
        if "decimal" in value:
            return decimal.Decimal(value["decimal"])
        if "dict" in value:
            return {unplain(k): unplain(v) for k, v in value["dict"]}
        if "bytes" in value:
            return value["bytes"].encode()
        return next(iter(value.values()))
    return value


def outcome_record(outcome: Outcome | None, error: str | None) -> dict[str, Any]:
    if error is not None:
        return {"error": error}
    assert outcome is not None
    return json.loads(json.dumps(outcome.to_dict(), default=str))


def run_once(target: RecordingHost | RecordingDatabase, check: str,
             params: dict[str, Any]) -> dict[str, Any]:
    """Run ``check`` once on a recording target, then close it: the outcome's record.

    A check that cannot check (:class:`CheckError`) is recorded with its error
    line, as the parser tests replay it.
    """
    outcome, error = None, None
    try:
        chk = REGISTRY.get(check)
        outcome = chk.func(target, **chk.validate(params))
    except CheckError as exc:
        error = str(exc)
    finally:
        target.close()
    return outcome_record(outcome, error)


def write(path: Path, recording: dict[str, Any]) -> None:
    """Write one recording, moving large outputs to side files next to it."""
    for step in recording.get("commands", []):
        for stream in ("stdout", "stderr"):
            text = step.get(stream, "")
            if len(text) > SIDE_FILE_OVER:
                name = f"out-{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"
                (path.parent / name).write_text(text)
                step[f"{stream}_file"] = name
                del step[stream]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recording, indent=1, sort_keys=False) + "\n")


def load(path: Path) -> dict[str, Any]:
    recording: dict[str, Any] = json.loads(path.read_text())
    for step in recording.get("commands", []):
        for stream in ("stdout", "stderr"):
            if f"{stream}_file" in step:
                step[stream] = (path.parent / step.pop(f"{stream}_file")).read_text()
    return recording


# --- hosts -------------------------------------------------------------------------------


class RecordingHost(HostTarget):
    """A real host target that keeps every command it ran and what came back."""

    def __init__(self, spec: TargetSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.steps: list[dict[str, Any]] = []

    def run(self, command: str, *args: str, timeout: float | None = None) -> Any:
        result = super().run(command, *args, timeout=timeout)
        self.steps.append({"command": formatted(command, args), "rc": result.rc,
                           "stdout": result.stdout, "stderr": result.stderr})
        return result


class ReplayHost(HostTarget):
    """A host that answers each command as the recording says; an unrecorded command fails."""

    def __init__(self, recording: dict[str, Any]) -> None:
        spec = TargetSpec("host", recording["target"], (), {"url": "local://"})
        super().__init__(spec, Settings())
        self.answers = {step["command"]: step for step in recording["commands"]}
        self.asked: list[str] = []

    def run(self, command: str, *args: str, timeout: float | None = None) -> Any:
        text = formatted(command, args)
        self.asked.append(text)
        if text not in self.answers:
            raise AssertionError(f"command not in the recording: {text[:200]}")
        step = self.answers[text]
        return SimpleNamespace(rc=step["rc"], stdout=step["stdout"], stderr=step["stderr"])

    @property
    def testinfra(self) -> Any:
        raise AssertionError("a replayed host has no testinfra connection")


# --- databases ---------------------------------------------------------------------------


class RecordingDatabase(DatabaseTarget):
    """A real database target that keeps every query and command and what came back."""

    def __init__(self, spec: TargetSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.steps: list[dict[str, Any]] = []
        self.server_info: str | None = None

    def connection(self) -> Any:
        conn = super().connection()
        if self.server_info is None and hasattr(conn, "get_server_info"):
            self.server_info = str(conn.get_server_info())
        return conn

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        try:
            rows = super().query(sql, params)
        except CheckError as exc:
            self.steps.append({"sql": sql, "params": plain(params), "error": str(exc)})
            raise
        columns = [str(c[0]) for c in (self._last_description or ())]
        self.steps.append({"sql": sql, "params": plain(params), "columns": columns,
                           "rows": plain(rows)})
        return rows

    def redis(self, command: str, *args: Any) -> Any:
        try:
            answer = super().redis(command, *args)
        except CheckError as exc:
            self.steps.append({"redis": [command, *map(str, args)], "error": str(exc)})
            raise
        self.steps.append({"redis": [command, *map(str, args)], "answer": plain(answer)})
        return answer


class _ReplayConnection:
    def __init__(self, server_info: str | None) -> None:
        self.server_info = server_info

    def get_server_info(self) -> str:
        assert self.server_info is not None, "no server_info in the recording"
        return self.server_info


class ReplayDatabase(DatabaseTarget):
    """A database that answers each query as the recording says; an unrecorded one fails."""

    def __init__(self, recording: dict[str, Any]) -> None:
        spec = TargetSpec("database", recording["target"], (), {"dsn": recording["dsn"]})
        super().__init__(spec, Settings())
        self.steps = recording["steps"]
        self.server_info = recording.get("server_info")

    def connection(self) -> Any:
        return _ReplayConnection(self.server_info)

    def _find(self, key: str, value: Any) -> dict[str, Any]:
        for step in self.steps:
            if step.get(key) == value:
                return step
        raise AssertionError(f"not in the recording: {value}")

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        step = self._find_query(sql, plain(params))
        if "error" in step:
            raise CheckError(step["error"])
        self._last_description = [(c,) for c in step["columns"]]
        return [tuple(unplain(v) for v in row) for row in step["rows"]]

    def _find_query(self, sql: str, params: Any) -> dict[str, Any]:
        for step in self.steps:
            if step.get("sql") == sql and step.get("params") == params:
                return step
        raise AssertionError(f"query not in the recording: {sql[:200]} {params}")

    def redis(self, command: str, *args: Any) -> Any:
        step = self._find("redis", [command, *map(str, args)])
        if "error" in step:
            raise CheckError(step["error"])
        return unplain(step["answer"])
