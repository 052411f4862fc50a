"""The typed item record, the status table and the masker's derived forms (pure tests)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
import pytest

from pytest_golive.core.item_result import CheckEvidence, ItemResult
from pytest_golive.core.secrets import MASK, MASKER, Secret, base64_forms, is_clean, mask, mask_data
from pytest_golive.core.status import Status, display_status

SCHEMA = Path(__file__).parent.parent / "src/pytest_golive/schemas/results.schema.json"


def _record(**changes: object) -> ItemResult:
    base = dict(nodeid="checklist.md::hardware/cpus[web1]", id="hardware/cpus", section="hardware",
                section_title="Hardware", title="Enough CPUs", status=Status.FAILED, blocking=True,
                severity="blocker", check="cpu", params={"min": 4}, target="web1",
                target_kind="host", observed="2 CPUs", expected=">= 4 CPUs",
                details={"cpus": 2, "seen": ("a", "b")}, source="checklist.md", line=3,
                duration=0.0123456, order=7)
    base.update(changes)
    return ItemResult(**base)  # type: ignore[arg-type]


def test_the_json_form_keeps_every_key_of_the_results_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    item_schema = schema["properties"]["results"]["items"]
    data = _record().to_dict()
    jsonschema.validate(data, item_schema)
    assert set(item_schema["required"]) <= set(data)
    assert data["status"] == "failed" and data["duration"] == 0.0123
    assert data["details"]["seen"] in (["a", "b"], ("a", "b"))


def test_a_record_survives_its_json_form_with_unknown_keys() -> None:
    data = _record().to_dict()
    data["environment"] = "prod"  # added by merges, or by a newer writer
    back = ItemResult.from_dict(json.loads(json.dumps(data)))
    assert back.status is Status.FAILED and back.blocking and back.order == 7
    assert back.to_dict() == json.loads(json.dumps(data))


def test_placing_a_record_changes_only_its_place() -> None:
    placed = _record().placed(nodeid="checklist.md::hardware/cpus[web1]", order=1)
    assert placed.order == 1 and placed.observed == "2 CPUs"
    with pytest.raises(AttributeError):
        placed.order = 2  # type: ignore[misc]


def test_several_checks_keep_their_evidence_each() -> None:
    checks = (CheckEvidence("memory", "passed", "4 GiB", ">= 2 GiB"),
              CheckEvidence("cpu", "failed", "1 CPU", ">= 2 CPUs"))
    data = _record(checks=checks).to_dict()
    assert [c["check"] for c in data["details"]["checks"]] == ["memory", "cpu"]


def test_secrets_are_masked_when_the_record_becomes_data() -> None:
    token = Secret("rec0rd-t0ken-value", "${TOKEN}")
    data = _record(observed=f"sent {token.reveal()}", params={"token": token}).to_dict()
    assert token.reveal() not in json.dumps(data)
    assert data["params"]["token"] == MASK


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_its_own_look(status: Status) -> None:
    assert status.word and status.letter and status.label and status.icon and status.header
    others = [s for s in Status if s is not status]
    assert status.label not in {s.label for s in others}


def test_what_pytest_shows_for_each_status() -> None:
    assert Status.WAIVED.teststatus(False) == ("waived", "W", ("WAIVED", {"yellow": True}))
    assert Status.MANUAL_PENDING.teststatus(True) == ("pending", "P", ("PENDING", {"red": True}))
    pending_warn = ("pending", "P", ("PENDING", {"yellow": True}))
    assert Status.MANUAL_PENDING.teststatus(False) == pending_warn
    assert Status.FAILED.teststatus(False) == ("warned", "w", ("WARN", {"yellow": True}))
    assert Status.ERROR.teststatus(True) == ("error", "E", ("ERROR", {"red": True}))
    assert Status.PASSED.teststatus(False) is None and Status.FAILED.teststatus(True) is None


def test_a_failure_that_does_not_block_is_shown_as_a_warning() -> None:
    assert display_status({"status": "failed", "blocking": False}) == "warning"
    assert display_status({"status": "error", "blocking": True}) == "error"
    assert display_status({"status": "not-configured", "blocking": False}) == "warning"


@pytest.mark.parametrize("user", ["a", "ab", "abc", "deploy", "svc-account"])
def test_basic_auth_of_a_secret_is_masked_whatever_the_user(user: str) -> None:
    secret = "b4sic-auth-passw0rd"
    MASKER.add(secret)
    header = base64.b64encode(f"{user}:{secret}".encode()).decode()
    masked = mask(f"Authorization: Basic {header}")
    assert MASK in masked
    # what is left of the encoding cannot give the secret back
    assert secret.encode() not in base64.b64decode(masked.rsplit(" ", 1)[1].split(MASK)[0] + "==")


def test_base64_case_and_url_forms_are_masked() -> None:
    secret = "Case-And-B64-Secret"
    MASKER.add(secret)
    for text in (secret.upper(), secret.lower(), base64.b64encode(secret.encode()).decode(),
                 base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")):
        assert mask(f"x {text} y") != f"x {text} y", text
    assert all(len(f) >= 4 for f in base64_forms("abcd"))


def test_clean_data_is_returned_as_it_is_and_dirty_data_is_walked() -> None:
    data = {"a": [1, "plain"], "b": {"c": None}}
    assert is_clean(data) and mask_data(data) is data
    MASKER.add("dirty-secret-value")
    dirty = {"a": ["x dirty-secret-value"], "b": {1, 2}}
    assert not is_clean(dirty)
    assert mask_data(dirty)["a"] == [f"x {MASK}"]
