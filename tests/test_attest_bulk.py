"""Signing off in bulk, refusing what matches nothing, and sign-offs that lapse.

Each test works in a project that ``golive init`` wrote (plus lines of its
own), runs ``golive attest`` as a user would, then a readiness run.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from pytest_golive.core.verdict import line_digest, load_attestations
from pytest_golive.tools.cli import main

GOLIVE = (sys.executable, "-m", "pytest_golive.tools.cli")

SIGN_OFFS = """
## Sign-off

- [ ] Runbook reviewed by the on-call engineer
- [ ] Release approved by the technical lead <!-- golive: manual id=approval -->
- [ ] Rollback rehearsed
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(pytester.path)
    assert main(["init", str(pytester.path)]) == 0
    checklist = pytester.path / "golive.md"
    text = checklist.read_text()
    head = text[: text.index("## Sign-off")]
    checklist.write_text(head + SIGN_OFFS.lstrip("\n"))
    return pytester.path


def _records(project: Path) -> list[str]:
    return [a.item for a in load_attestations(project / "attestations.toml")]


def test_init_writes_an_attestations_file_the_config_names(project: Path) -> None:
    assert (project / "attestations.toml").is_file()
    assert 'attestations = "attestations.toml"' in (project / "golive.toml").read_text()
    assert load_attestations(project / "attestations.toml") == []


def test_a_section_glob_signs_every_line_of_it(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attest", "sign-off/*", "--by", "Sam Sec", "--ticket", "CHG-1", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "3 lines to sign as Sam Sec (CHG-1)" in out and "attested 3 lines" in out
    assert _records(project) == ["sign-off/runbook-reviewed-by-the-on-call-engineer",
                                 "sign-off/approval", "sign-off/rollback-rehearsed"]
    signed = load_attestations(project / "attestations.toml")
    assert signed[1].line == "Release approved by the technical lead"
    assert signed[1].line_digest == line_digest("Release approved by the technical lead")


def test_several_ids_and_a_section_name(project: Path) -> None:
    assert main(["attest", "approval", "sign-off/rollback-rehearsed", "--by", "A", "--yes"]) == 0
    assert _records(project) == ["sign-off/approval", "sign-off/rollback-rehearsed"]
    assert main(["attest", "sign-off", "--by", "B", "--yes"]) == 0
    assert len(_records(project)) == 5


def test_it_shows_what_it_will_sign_and_asks(project: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty("n\n"))
    assert main(["attest", "sign-off/*", "--by", "Sam"]) == 1
    out = capsys.readouterr().out
    assert "sign-off/rollback-rehearsed  Rollback rehearsed" in out
    assert "Sign these? [y/N]" in out and "nothing signed" in out
    assert _records(project) == []
    monkeypatch.setattr(sys, "stdin", Tty("y\n"))
    assert main(["attest", "sign-off/*", "--by", "Sam"]) == 0
    assert len(_records(project)) == 3


def test_a_pattern_without_anyone_to_ask_needs_yes(project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert not sys.stdin.isatty()  # pytest's capture: nobody at a terminal
    code = main(["attest", "sign-off/*", "--by", "Sam"])
    assert code == 2
    assert "pass --yes to sign them" in capsys.readouterr().err
    assert _records(project) == []


def test_an_unknown_id_is_refused_with_did_you_mean(project: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attest", "sign-of/runbook", "--by", "Sam", "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("golive attest: no line to sign matches 'sign-of/runbook'; did you mean "
                          "'sign-off/runbook-reviewed-by-the-on-call-engineer'?")
    assert not (project / "attestations.toml").read_text().count("[[attestation]]")


def test_a_line_with_checks_only_is_not_signed(project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attest", "infrastructure/at-least-1-cpu-online", "--by", "Sam"]) == 2
    assert "the checks decide it" in capsys.readouterr().err


@pytest.mark.real_systems
def test_stale_attestations_are_reported_like_stale_waivers(project: Path,
                                                            pytester: pytest.Pytester) -> None:
    with (project / "attestations.toml").open("a") as fh:
        fh.write('\n[[attestation]]\nitem = "sign-off/runbok"\nby = "Al"\nat = 2026-06-01\n')
    result = pytester.runpytest("-p", "no:cacheprovider", "--golive=local",
                                "--golive-manual=warn", "--golive-json=r.json",
                                "--golive-markdown=r.md")
    result.stdout.fnmatch_lines(["stale attestation: 'sign-off/runbok' (by Al) matched no item "
                                 "(*attestations.toml: attestation[[]0[]]); remove it or correct "
                                 "the id"])
    import json

    document = json.loads((project / "r.json").read_text())
    assert [a["item"] for a in document["stale_attestations"]] == ["sign-off/runbok"]
    assert "STALE ATTESTATION" in (project / "r.md").read_text()


@pytest.mark.real_systems
def test_a_reworded_line_voids_its_sign_off_and_says_why(project: Path,
                                                         pytester: pytest.Pytester) -> None:
    assert main(["attest", "approval", "--by", "Sam Sec", "--ticket", "CHG-1"]) == 0
    run = ("-p", "no:cacheprovider", "--golive=local", "--golive-json=r.json",
           "--golive-report=r.html", "-k", "approval")
    assert pytester.runpytest(*run).ret == 0  # attested
    checklist = project / "golive.md"
    checklist.write_text(checklist.read_text().replace(
        "Release approved by the technical lead", "Release approved by the CTO"))
    result = pytester.runpytest(*run)
    assert result.ret == 1
    why = ("the line changed since Sam Sec signed it on * (it read: Release approved by the "
           "technical lead); sign it again*")
    result.stdout.fnmatch_lines(
        [f"  PENDING sign-off/approval  Release approved by the CTO - {why}"])
    import json

    record = json.loads((project / "r.json").read_text())["results"][0]
    assert record["status"] == "manual-pending" and record["blocking"] is True
    assert record["attestation"]["lapsed"] == "the line changed since it was signed"
    assert "the line changed since Sam Sec signed it on" in (project / "r.html").read_text()
    # spacing alone is no rewording
    text = checklist.read_text()
    checklist.write_text(text.replace("approved by the CTO", "approved  by the CTO"))
    assert main(["attest", "approval", "--by", "Sam Sec"]) == 0
    checklist.write_text(checklist.read_text().replace("approved  by", "approved by"))
    assert pytester.runpytest(*run).ret == 0


# --- a line with checks and an attestation is signed for what its checks saw ------------------


def test_changed_facts_void_the_sign_off_of_a_checked_line() -> None:
    import datetime as dt

    from pytest_golive.core.verdict import Attestation, Clock, Policy, decide, facts_digest

    signed = Attestation(item="security/conf", by="Sam Sec",
                         at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                         facts_digest=f"web1={facts_digest('observed 2 vCPUs')}")
    policy = Policy(environment="prod", clock=Clock("2026-06-15"), attestations=[signed])

    def on(target: str, detail: str) -> tuple[str, bool, str]:
        d = decide(policy, "security/conf", target, "blocker", "passed", False, detail, attest=True)
        return d.status, d.blocking, d.message

    assert on("web1", "observed 2 vCPUs")[:2] == ("passed", False)
    status, blocking, message = on("web1", "observed 4 vCPUs")
    assert (status, blocking) == ("manual-pending", True)
    assert message.startswith("the facts changed since Sam Sec signed it on 2026-06-01: its checks "
                              "saw something else (now: observed 4 vCPUs)")
    status, _, message = on("web2", "observed 2 vCPUs")
    assert status == "manual-pending" and "target web2 was not part of it" in message


def _checked_line_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                          more: str = "") -> None:
    """A project whose line 'Config reviewed' has a file check and an attestation (id conf)."""
    monkeypatch.chdir(pytester.path)
    conf = pytester.path / "app.conf"
    conf.write_text("x")
    pytester.makefile(".toml", golive='checklists = ["c.md"]\nattestations = "att.toml"\n'
                      '[environments.prod.hosts]\nlocal = ["local://"]\n', att="")
    pytester.makefile(".md", c=f"# C\n## Security\n- [ ] Config reviewed "
                      f"<!-- golive: file path={conf}; attest id=conf -->\n" + more)


@pytest.mark.real_systems
def test_attest_with_a_report_signs_the_observed_facts(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _checked_line_project(pytester, monkeypatch)
    run = ("-p", "no:cacheprovider", "--golive=prod", "--golive-json=r.json")
    assert pytester.runpytest(*run).ret == 1  # the checks pass, the person's half is missing
    assert main(["attest", "conf", "--by", "Sam Sec", "--report", "r.json"]) == 0
    (signed,) = load_attestations(pytester.path / "att.toml")
    assert signed.facts_digest.startswith("local=sha256:")
    assert pytester.runpytest(*run).ret == 0  # same facts: signed
    att = pytester.path / "att.toml"
    att.write_text(att.read_text().replace(signed.facts_digest, "local=sha256:" + "0" * 64))
    result = pytester.runpytest(*run)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*the facts changed since Sam Sec signed it on *"])


@pytest.mark.real_systems
def test_a_checked_line_signed_without_its_facts_says_so(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """Without --report the sign-off cannot lapse with the facts: the signer is told. A report
    that never ran the line signs nothing: refused, nothing written."""
    _checked_line_project(pytester, monkeypatch,
                          more="- [ ] Runbook read <!-- golive: manual id=runbook -->\n")
    assert pytester.runpytest("-p", "no:cacheprovider", "--golive=prod", "-k", "runbook",
                              "--golive-json=only-runbook.json").ret == 1
    capsys.readouterr()
    assert main(["attest", "conf", "--by", "Sam Sec", "--report", "only-runbook.json"]) == 2
    assert "only-runbook.json holds no result of security/conf" in capsys.readouterr().err
    assert load_attestations(pytester.path / "att.toml") == []
    assert main(["attest", "conf", "--by", "Sam Sec"]) == 0
    out = capsys.readouterr().out
    assert "security/conf has checks too; signed without --report RESULTS.json" in out
    (signed,) = load_attestations(pytester.path / "att.toml")
    assert signed.facts_digest == ""
    assert main(["attest", "runbook", "--by", "Sam Sec"]) == 0  # no checks: no note
    assert "checks too" not in capsys.readouterr().out


@pytest.mark.real_systems
def test_a_sign_off_survives_markup_read_differently(project: Path,
                                                     pytester: pytest.Pytester) -> None:
    """A line signed when its lone '_' were dropped from its title (it read "Lead: _ Date: _")
    is the same line now that they are kept; changed words still void the sign-off."""
    checklist = project / "golive.md"
    checklist.write_text(checklist.read_text().replace(
        "- [ ] Rollback rehearsed", "- [ ] **Technical Lead**: ________ Date: ____ <!-- "
        "golive: manual id=lead -->"))
    old = "Technical Lead: _ Date: _"
    (project / "attestations.toml").write_text(
        '[[attestation]]\nitem = "sign-off/lead"\nby = "Sam Sec"\nat = 2026-11-20T08:00:00Z\n'
        f'line = "{old}"\nline_digest = "{line_digest(old)}"\n')
    run = ("-p", "no:cacheprovider", "--golive=local", "-k", "lead")
    assert pytester.runpytest(*run).ret == 0
    checklist.write_text(checklist.read_text().replace("Technical Lead", "Technical Owner"))
    result = pytester.runpytest(*run)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*the line changed since Sam Sec signed it*"])
