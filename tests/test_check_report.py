"""CheckReport's table: every number by chainrule's one rule; a NaN is shown, never a dash."""

from __future__ import annotations

from chainrule.check_report import CheckReport, InputCheck, Kink


def test_numbers_in_the_table_keep_their_digits_and_nan_is_shown() -> None:
    check = InputCheck(
        "x",
        (2,),
        passed=False,
        max_abs_error=float("nan"),
        max_rel_error=1.23456e-9,
        worst_index=(0,),
        values={"autodiff": float("inf"), "finite diff": float("nan")},
        kinks=[Kink((1,), -1.0, 1.234567e-7, -0.0)],
    )
    lines = str(CheckReport("gradcheck", [check], "eps=1e-06")).splitlines()
    assert lines[1].split()[-4:] == ["autodiff", "finite", "diff", "result"]
    assert lines[2].split() == ["x", "(2,)", "nan", "1.23e-09", "(0,)", "inf", "nan", "FAILED"]
    assert "a kink (left slope -1, right slope 1.23457e-07); autodiff's 0 lies between them" in lines[3]
