"""What the masker treats as a secret: values, never the words every sentence needs."""

from __future__ import annotations

from pytest_golive.core.secrets import MASK, Masker


def test_a_switch_is_not_a_secret() -> None:
    masker = Masker()
    for word in ("true", "False", "yes", "none", "null", "on"):
        masker.add(word)
    assert masker.mask("set sudo = true on the target; verify = False") == (
        "set sudo = true on the target; verify = False")


def test_a_real_value_is_still_masked_in_every_form() -> None:
    masker = Masker()
    masker.add("truest-Pa55")
    assert masker.mask("password truest-Pa55, TRUEST-PA55") == f"password {MASK}, {MASK}"
