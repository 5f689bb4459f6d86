"""chainrule.check: finite differences, gradcheck, hand-written gradients, modules, per-op checks."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.check import check_gradient, check_graph, check_module, function_of_leaves, gradcheck, numerical_gradient
from chainrule.examples import three_matrix as abc


class WrongSoftplus(cr.Function):
    """d/dx softplus(x) = σ(x), written wrongly in backward as σ(x)(1 − σ(x))"""

    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x)

    def backward(self, grad_out):
        s = 1 / (1 + np.exp(-self.x))
        return grad_out * s * (1 - s)


def test_central_differences_of_known_functions() -> None:
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    (grad_x,) = numerical_gradient(lambda t: (t * t * t).sum(), x)
    np.testing.assert_allclose(grad_x, 3 * x**2, rtol=1e-7)
    grad_a, grad_b = numerical_gradient(lambda a, b: (a @ b).sum(), np.ones((2, 3)), np.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(grad_a, np.tile(np.arange(6.0).reshape(3, 2).sum(axis=1), (2, 1)), rtol=1e-7)
    np.testing.assert_allclose(grad_b, np.full((3, 2), 2.0), rtol=1e-7)


def test_inputs_are_left_unchanged_and_scalars_required() -> None:
    x = np.array([1.0, 2.0])
    numerical_gradient(lambda t: t.sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    with pytest.raises(cr.ShapeError, match=r"numerical_gradient: f must return a scalar, got shape \(2,\)"):
        numerical_gradient(lambda t: t * 2, x)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_gradcheck_passes_correct_ops_on_1d_2d_3d_inputs(shape, rng) -> None:
    def f(x, w):
        return cr.log_softmax(cr.softplus(x) * cr.tanh(w), axis=-1).sum() + cr.squared_norm(cr.sigmoid(x))

    report = gradcheck(f, rng.normal(size=shape), rng.normal(size=shape[-1:]))
    assert report and report.passed
    assert [check.name for check in report.inputs] == ["x", "w"]
    assert report.inputs[0].shape == shape
    assert report.inputs[0].max_rel_error < 1e-6
    assert "gradcheck: passed" in str(report)


def test_gradcheck_catches_a_wrong_derivative_and_names_input_element_and_op(rng) -> None:
    def model(x, w):
        return WrongSoftplus.apply(cr.tanh(x @ w)).sum()

    x, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    report = gradcheck(model, x, w)
    assert not report
    failing = report.failures()
    assert {check.name for check in failing} == {"x", "w"}
    worst = failing[1]
    # the element named is the one whose error is largest, with both values shown
    (numeric_w,) = numerical_gradient(lambda t: model(cr.tensor(x), t), w)
    autodiff = cr.grad(model, argnums=1)(x, w)
    assert worst.worst_index == np.unravel_index(np.argmax(np.abs(autodiff - numeric_w)), w.shape)
    assert worst.values["autodiff"] == pytest.approx(autodiff[worst.worst_index])
    assert worst.values["finite diff"] == pytest.approx(numeric_w[worst.worst_index], rel=1e-6)
    assert "the first op whose backward disagrees with finite differences is wrongsoftplus" in report.culprit
    assert "test_check.py" in report.culprit and "WrongSoftplus.apply" in report.culprit
    assert "FAILED" in str(report)


def test_kinks_are_recognised_not_reported_as_failures() -> None:
    x = np.array([0.0, 1.0, -2.0, 0.0])
    report = gradcheck(lambda t: cr.relu(t).sum() + cr.abs(t).sum() + cr.maximum(t, 0.0).sum(), x)
    assert report.passed
    kinks = report.inputs[0].kinks
    assert [kink.index for kink in kinks] == [(0,), (3,)]
    assert kinks[0].left == pytest.approx(-1.0, abs=1e-6) and kinks[0].right == pytest.approx(3.0, abs=1e-6)
    assert "a kink (left slope -1, right slope 3)" in str(report)
    # at a tie the central difference is ½, which is what autodiff gives: no false failure to explain
    ties = gradcheck(lambda t: cr.max(t), np.array([1.0, 3.0, 3.0]))
    assert ties.passed and ties.inputs[0].values["autodiff"] == 0.5


def test_a_real_error_at_a_kink_is_still_caught() -> None:
    class WrongRelu(cr.Function):
        """d/dx relu(x) = 1 where x > 0 (written wrongly as 2)"""

        def forward(self, x):
            self.x = x
            return np.maximum(x, 0)

        def backward(self, grad_out):
            return grad_out * 2.0 * (self.x >= 0)

    assert not gradcheck(lambda t: WrongRelu.apply(t).sum(), np.array([0.0, 1.0]))


def test_float32_inputs_are_checked_in_float64_with_a_note() -> None:
    report = gradcheck(lambda t: (t * t).sum(), np.ones(3, np.float32))
    assert report.passed
    assert any("given as float32, checked in float64" in note for note in report.inputs[0].notes)


def test_a_function_that_cuts_its_input_off_is_told_so() -> None:
    report = gradcheck(lambda x: (cr.tensor(x.data, requires_grad=True) ** 2).sum(), np.ones(2))
    assert not report and "no gradient reached x" in str(report)


def three_matrix_loss(A, B, C):
    return abc.loss_rows(cr.tensor(abc.SEED_X), A, B, C)


def hand_gradients(A, B, C):
    return abc.hand_gradients_rows(abc.SEED_X, A, B, C)


def test_check_gradient_accepts_the_right_hand_gradient() -> None:
    report = check_gradient(three_matrix_loss, hand_gradients, abc.SEED_A, abc.SEED_B, abc.SEED_C)
    assert report.passed
    assert [check.name for check in report.inputs] == ["A", "B", "C"]
    assert set(report.inputs[0].values) == {"hand-written", "autodiff", "finite diff"}


def test_check_gradient_catches_a_transposed_hand_gradient() -> None:
    def transposed(A, B, C):
        grad_a, grad_b, grad_c = hand_gradients(A, B, C)
        return grad_a.T, grad_b, grad_c

    report = check_gradient(three_matrix_loss, transposed, abc.SEED_A, abc.SEED_B, abc.SEED_C)
    assert not report
    assert [check.name for check in report.failures()] == ["A"]
    assert "the gradient for A equals the transpose of the true one: transposed?" in str(report)


def test_check_gradient_catches_a_gradient_scaled_by_two() -> None:
    def doubled(A, B, C):
        grad_a, grad_b, grad_c = hand_gradients(A, B, C)
        return grad_a, grad_b, 2 * grad_c

    report = check_gradient(three_matrix_loss, doubled, abc.SEED_A, abc.SEED_B, abc.SEED_C)
    failing = report.failures()
    assert [check.name for check in failing] == ["C"]
    assert failing[0].values["hand-written"] == pytest.approx(2 * failing[0].values["autodiff"])
    assert "every element is 2 × the true gradient" in str(report)


def test_check_gradient_names_wrong_shapes_plainly() -> None:
    A = np.arange(12.0).reshape(4, 3) / 10

    def f(A):
        return cr.squared_norm(A @ np.ones(3))

    def right(A):
        return 2 * np.outer(A @ np.ones(3), np.ones(3))

    report = check_gradient(f, lambda A: right(A).T, A)
    assert "gradient for A has shape (3, 4), A has (4, 3): transposed? (its transpose is the right gradient)" in str(
        report
    )
    report = check_gradient(f, lambda A: right(A).reshape(-1), A)
    assert "gradient for A has shape (12,), A has (4, 3): reshape it to (4, 3)?" in str(report)
    with pytest.raises(ValueError, match=r"grad_f returned 2 gradients for 1 inputs \(A\)"):
        check_gradient(f, lambda A: (right(A), right(A)), A)


def test_check_gradient_names_the_element_where_they_part() -> None:
    def f(w):
        return (w * w).sum()

    def almost(w):
        grad = 2 * w
        grad[1, 2] += 0.5
        return grad

    report = check_gradient(f, almost, np.ones((2, 3)))
    check = report.failures()[0]
    assert check.worst_index == (1, 2) and check.max_abs_error == pytest.approx(0.5)
    assert check.values == {"hand-written": 2.5, "autodiff": 2.0, "finite diff": pytest.approx(2.0)}


def test_check_module_checks_every_parameter_and_restores_the_model(rng) -> None:
    net = nn.Sequential(
        nn.Linear(4, 5, rng=0, dtype=np.float32), nn.Softplus(), nn.Linear(5, 3, rng=1, dtype=np.float32)
    )
    before = [p.data.copy() for p in net.parameters()]
    report = check_module(net, cr.cross_entropy, (rng.normal(size=(6, 4)), rng.integers(0, 3, 6)))
    assert report.passed
    assert [check.name for check in report.inputs] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
    ]
    assert all(p.dtype == np.float32 and p.grad is None for p in net.parameters())
    for original, parameter in zip(before, net.parameters()):
        np.testing.assert_array_equal(original, parameter.data)


def test_check_graph_checks_each_op_where_it_ran(rng) -> None:
    x = cr.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    loss = WrongSoftplus.apply(cr.sigmoid(x) * 2).sum()
    report = check_graph(loss)
    results = {check.name: check.passed for check in report.inputs}
    assert results == {
        "1. sigmoid input 0": True,
        "2. mul input 0": True,
        "2. mul input 1": True,
        "3. wrongsoftplus input 0": False,
        "4. sum input 0": True,
    }


def test_function_of_leaves_replays_the_graph(rng) -> None:
    w = cr.tensor(rng.normal(size=3), requires_grad=True, name="w")
    loss = cr.softplus(w * 2.0 + 1.0).sum()
    replay, leaves = function_of_leaves(loss)
    assert leaves == [w]
    assert replay(w).item() == loss.item()
    assert replay(np.zeros(3)).item() == pytest.approx(3 * np.log1p(np.e))
    assert gradcheck(replay, w.data).passed


def test_the_step_defaults_to_1e_6_and_must_be_positive() -> None:
    report = gradcheck(lambda t: (t * t).sum(), np.ones(2), eps=None)
    assert report.passed and "eps=1e-06" in str(report)
    assert "eps=0.0001" in str(gradcheck(lambda t: (t * t).sum(), np.ones(2), eps=1e-4))
    with pytest.raises(ValueError, match="^gradcheck: eps must be a positive, finite step, got -1$"):
        gradcheck(lambda t: t.sum(), np.ones(2), eps=-1)


def square_sum(x):
    return (x * x).sum()


CHECKS = {
    "gradcheck": lambda **settings: gradcheck(square_sum, np.ones(2), **settings),
    "check_gradient": lambda **settings: check_gradient(square_sum, lambda x: 2 * x, np.ones(2), **settings),
    "check_module": lambda **settings: check_module(
        nn.Linear(2, 1, rng=0), cr.mse, (np.ones((3, 2)), np.ones((3, 1))), **settings
    ),
    "check_graph": lambda **settings: check_graph(square_sum(cr.tensor([1.0, 2.0], requires_grad=True)), **settings),
}


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize(
    ("setting", "error", "message"),
    [
        ({"rtol": -1}, ValueError, "rtol must be a finite number ≥ 0, got -1"),
        ({"rtol": float("nan")}, ValueError, "rtol must be a finite number ≥ 0, got nan"),
        ({"atol": -1e-8}, ValueError, "atol must be a finite number ≥ 0, got -1e-08"),
        ({"atol": float("inf")}, ValueError, "atol must be a finite number ≥ 0, got inf"),
        ({"rtol": "0.1"}, TypeError, "rtol must be a number, got str '0.1'"),
        ({"eps": 0.0}, ValueError, "eps must be a positive, finite step, got 0.0"),
        ({"eps": float("nan")}, ValueError, "eps must be a positive, finite step, got nan"),
        ({"eps": float("inf")}, ValueError, "eps must be a positive, finite step, got inf"),
        ({"eps": True}, TypeError, "eps must be a number, got bool True"),
    ],
)
def test_tolerances_and_step_are_checked_before_any_work(check, setting, error, message) -> None:
    # rtol=-1 used to be accepted, then reported FAILED, blaming mul with equal values on both sides
    with pytest.raises(error, match="^" + re.escape(f"{check}: {message}") + "$"):
        CHECKS[check](**setting)
    assert CHECKS[check](rtol=0, atol=1e-6)  # zero tolerances are allowed


def test_an_overflow_in_f_is_named_not_a_backward() -> None:
    # (1e200)² = inf: finite differences read inf − inf; mul's backward (2x) is right
    with np.errstate(over="ignore"):
        report = gradcheck(square_sum, np.array([1e200, 1.0]))
    assert not report and report.inputs[0].undefined_elements == report.inputs[0].failed_elements == 2
    assert report.culprit.startswith(
        "f's value is not finite at these inputs (inf): mul is the first op to give a value that is not finite, "
        "from finite inputs; mul created at "
    )
    assert "test_check.py" in report.culprit and "backward" not in report.culprit
    assert "- x: f's value is not finite at these inputs (inf)" in str(report)


def test_a_step_outside_the_domain_is_named_not_a_backward() -> None:
    # √x at 0: autodiff's inf is the true one-sided slope; the finite difference needs √(−eps), which is nan
    with np.errstate(invalid="ignore", divide="ignore"):
        report = gradcheck(lambda x: cr.sqrt(x).sum(), np.array([0.0, 1.0]))
    assert not report
    assert report.culprit.startswith(
        "finite differences step outside the domain of sqrt at element (0,) of x: f gives nan at x − eps"
    )
    assert "backward" not in report.culprit
    assert "finite differences step outside f's domain at 1 element(s), first x(0,)" in str(report)
    assert "FAILED" in str(report)  # an element that cannot be checked is never a pass
    # at the other edge of the domain too, and in check_graph's rows for the op
    with np.errstate(invalid="ignore", divide="ignore"):
        below = gradcheck(lambda x: cr.log(1 - x).sum(), np.array([0.5, 1 - 1e-7]))
        loss = cr.sqrt(cr.tensor([0.0, 4.0], requires_grad=True)).sum()
        rows = check_graph(loss)
    assert "outside the domain of log at element (1,) of x: f gives nan at x + eps" in below.culprit
    (sqrt_row,) = rows.failures()
    assert sqrt_row.name == "1. sqrt input 0" and sqrt_row.only_undefined
    assert "finite differences step outside sqrt's domain at 1 element(s), first 0(0,): sqrt gives nan" in str(rows)


def test_a_wrong_backward_is_still_named_beside_a_point_outside_the_domain() -> None:
    def f(x):
        return cr.sqrt(x).sum() + WrongSoftplus.apply(x).sum()

    with np.errstate(invalid="ignore", divide="ignore"):
        report = gradcheck(f, np.array([0.0, 1.0]))
    assert not report
    assert "the first op whose backward disagrees with finite differences is wrongsoftplus" in report.culprit
    assert "finite differences step outside f's domain at 1 element(s), first x(0,)" in str(report)


def test_a_gradient_that_is_not_a_number_fails_the_check() -> None:
    class NanBackward(cr.Function):
        """d/dx 2x = 2 (written wrongly as nan where x > 1)"""

        def forward(self, x):
            self.x = x
            return 2 * x

        def backward(self, grad_out):
            return np.where(self.x > 1, np.nan, 2 * grad_out)

    report = gradcheck(lambda x: NanBackward.apply(x).sum(), np.array([0.0, 2.0]))
    assert not report and report.inputs[0].undefined_elements == 0  # f is finite everywhere: the backward is wrong
    assert "1 element(s) where the gradient or its finite difference is not a finite number" in str(report)
    assert "backward disagrees with finite differences is nanbackward" in report.culprit


def test_nan_from_both_sides_fails_the_check() -> None:
    with np.errstate(invalid="ignore"):
        report = gradcheck(lambda x: (x * np.nan).sum(), np.array([1.0, 2.0]))
    assert not report


class Step(cr.Function):
    """d/dx (x + [x > 0]) = 1 away from 0 (written wrongly as 3)"""

    def forward(self, x):
        return x + (x > 0)

    def backward(self, grad_out):
        return 3 * grad_out


def test_a_jump_is_reported_as_a_discontinuity_not_a_kink() -> None:
    # where(x > 0, x + 1, x) jumps by 1 at 0: it has no derivative there. It used to pass as "ok (1 kink)".
    report = gradcheck(lambda x: cr.where(x > 0, x + 1, x).sum(), np.array([0.0, 1.0, -2.0]))
    check = report.inputs[0]
    assert report.passed and check.kinks == []  # autodiff's 1 is the slope of both branches: as at a kink
    (jump,) = check.jumps
    assert jump.index == (0,) and jump.passed and jump.autodiff == 1.0
    assert jump.left == pytest.approx(1.0, abs=1e-4) and jump.right == pytest.approx(1.0, abs=1e-4)
    assert jump.after - jump.before == pytest.approx(1.0, abs=1e-6)  # f's values either side of the step
    text = str(report)
    assert "ok (1 jump)" in text and "a kink (" not in text
    assert "x(0,): f jumps here, from " in text
    assert "a discontinuity, where f has no derivative and no gradient is right or wrong; autodiff's 1 lies" in text


def test_a_wrong_backward_at_a_jump_is_still_caught() -> None:
    report = gradcheck(lambda x: Step.apply(x).sum(), np.array([0.0, 1.0]))
    assert not report
    (jump,) = report.inputs[0].jumps
    assert not jump.passed and jump.autodiff == 3.0
    assert "autodiff's 3 is not the slope of either branch (left 1, right 1)" in str(report)


def test_a_steep_corner_is_a_kink_not_a_jump() -> None:
    # slopes 0 and 1e6 either side of 0: steep, but f is continuous
    report = gradcheck(lambda x: (1e6 * cr.relu(x) - cr.relu(-x)).sum(), np.array([0.0, 1.0]))
    assert report.passed
    assert [kink.index for kink in report.inputs[0].kinks] == [(0,)] and report.inputs[0].jumps == []


def test_check_gradient_says_what_grad_f_returned() -> None:
    def f(x, w):
        return (x * w).sum()

    right = (lambda x: 2 * x), (lambda x, w: (w, x))
    for returned, message in [
        ("abc", "grad_f returned str 'abc'; return an array of x's shape (2,)"),
        (None, "grad_f returned None (is a return missing?); return an array of x's shape (2,)"),
        (np.array(["a", "b"]), "grad_f returned an array of <U1, shape (2,); return an array of x's shape (2,)"),
        ([[1.0], [1.0, 2.0]], "grad_f returned a list of 2 items; return an array of x's shape (2,)"),
    ]:
        with pytest.raises(TypeError, match="^" + re.escape(f"check_gradient: {message}") + "$"):
            check_gradient(square_sum, lambda x, returned=returned: returned, np.ones(2))
    several = "a tuple of 2 arrays, one per input (x, w), each of its input's shape"
    with pytest.raises(
        TypeError, match=re.escape(f"check_gradient: grad_f returned None (is a return missing?); return {several}")
    ):
        check_gradient(f, lambda x, w: None, np.ones(2), np.ones(2))
    with pytest.raises(
        TypeError,
        match=re.escape(f"grad_f returned None (is a return missing?) as the gradient for w; return {several}"),
    ):
        check_gradient(f, lambda x, w: (w, None), np.ones(2), np.ones(2))
    assert check_gradient(square_sum, lambda x: [2.0, 2.0], np.ones(2))  # a list of numbers for one input is fine
    assert check_gradient(square_sum, right[0], np.ones(2)) and check_gradient(f, right[1], np.ones(2), np.ones(2))


def test_check_module_says_what_a_batch_is() -> None:
    net = nn.Linear(2, 3, rng=0)
    for batch, got in [
        (np.ones((4, 2)), "an array of float64, shape (4, 2)"),
        ((np.ones((4, 2)),), "a tuple of 1 item"),
        ([np.ones((4, 2)), np.zeros(4), None], "a list of 3 items"),
    ]:
        with pytest.raises(
            TypeError, match="^" + re.escape(f"check_module: batch must be a pair (inputs, targets), got {got}") + "$"
        ):
            check_module(net, cr.cross_entropy, batch)
    assert check_module(net, cr.cross_entropy, [np.ones((4, 2)), np.zeros(4, dtype=int)])


def test_check_graph_names_itself_when_the_graph_was_freed() -> None:
    loss = square_sum(cr.tensor([1.0, 2.0], requires_grad=True))
    loss.backward()
    with pytest.raises(
        cr.GraphError, match=r"^check_graph: the graph was freed by backward\(\); call check_graph before"
    ):
        check_graph(loss)


def test_gradcheck_says_when_f_is_random_instead_of_blaming_kinks() -> None:
    report = gradcheck(lambda x: (cr.dropout(x, 0.5) ** 2).sum(), np.linspace(0.5, 2.0, 6))
    assert not report
    assert report.culprit.startswith("f gave two values at the same inputs (")
    assert "dropout without a fixed rng?" in report.culprit
    assert gradcheck(lambda x: (cr.dropout(x, 0.5, rng=0) ** 2).sum(), np.linspace(0.5, 2.0, 6))


def test_check_gradient_fails_on_a_random_f_too() -> None:
    def f(x):
        return (cr.dropout(x, 0.5) ** 2).sum()

    report = check_gradient(f, lambda x: 2 * x, np.linspace(0.5, 2.0, 6))
    assert not report and "dropout without a fixed rng?" in report.culprit


def test_check_graph_steps_inputs_of_any_memory_layout() -> None:
    """A transposed (or channels-last) input: the finite differences must move the element f reads."""
    x = cr.tensor(np.arange(1.0, 13.0).reshape(3, 4).T)
    w = cr.tensor(np.ones((4, 3)), requires_grad=True)
    report = cr.check.check_graph(((x * w) ** 2).sum())
    assert report.passed, str(report)
    conv = cr.conv2d(cr.tensor(np.random.default_rng(0).normal(size=(2, 1, 5, 5))), np.ones((3, 1, 3, 3)))
    assert not conv.data.flags.c_contiguous  # channels-last memory
    v = cr.tensor(np.ones(3 * 3 * 3), requires_grad=True)
    report = cr.check.check_graph((cr.relu(conv).reshape(2, -1)[:, :27] * v).sum())
    assert report.passed, str(report)
