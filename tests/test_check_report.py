"""CheckReport's table: every number by chainrule's one rule; a NaN is shown, never a dash."""

from __future__ import annotations

from chainrule.check.report import CheckReport, InputCheck, Jump, Kink


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


def test_a_jump_is_shown_as_a_discontinuity_beside_the_kinks() -> None:
    jump = Jump((0,), before=2.0, after=3.0, left=1.0, right=1.0, autodiff=1.0, passed=True)
    check = InputCheck("x", (2,), passed=True, kinks=[Kink((1,), 0.0, 1.0, 0.5)], jumps=[jump])
    lines = str(CheckReport("gradcheck", [check], "eps=1e-06")).splitlines()
    assert lines[2].endswith("ok (1 kink, 1 jump)")
    assert lines[4] == (
        "- x(0,): f jumps here, from 2 to 3: a discontinuity, where f has no derivative and no gradient is right or "
        "wrong; autodiff's 1 lies between the slopes of the branches beside it (left 1, right 1), so, as at a kink, it "
        "is not counted as an error"
    )
    failed = InputCheck("x", (2,), passed=False, jumps=[Jump((0,), 2.0, 3.0, 1.0, 1.0, 3.0, False, "hand-written")])
    assert "hand-written's 3 is not the slope of either branch (left 1, right 1)" in str(
        CheckReport("check_gradient", [failed], "eps=1e-06")
    )
