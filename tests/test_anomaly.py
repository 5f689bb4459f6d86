"""detect_anomaly(): the first op to make NaN or inf, named with the line that created it."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_log_of_zero_in_the_forward_pass_is_named() -> None:
    x = cr.tensor([1.0, 0.0], requires_grad=True)
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError) as error:
            y = cr.log(x)  # noqa: F841 - the line the message must show
    message = str(error.value)
    assert message.startswith("detect_anomaly: log produced -inf in its forward pass from finite inputs, at ")
    assert "test_anomaly.py:" in message and "y = cr.log(x)" in message


def test_an_overflowing_backward_is_named_with_its_op() -> None:
    x = cr.tensor([1e-320, 1.0], requires_grad=True)
    with cr.detect_anomaly():
        loss = cr.log(x).sum()  # finite forward: log(1e-320) ≈ −737
        with pytest.raises(cr.AnomalyError) as error:
            loss.backward()
    message = str(error.value)
    assert "the backward of log produced inf in the gradient of its input 0" in message
    assert "loss = cr.log(x).sum()" in message


def test_nan_in_a_forward_and_inputs_that_were_already_bad() -> None:
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError, match="sqrt produced nan in its forward pass from finite inputs"):
            cr.sqrt(cr.tensor([-1.0]))
        with pytest.raises(cr.AnomalyError, match=r"an input already held a non-finite value"):
            cr.tensor([np.inf]) * 2


def test_outside_the_context_nothing_is_checked() -> None:
    with np.errstate(divide="ignore"):
        y = cr.log(cr.tensor([0.0]))
    assert y.data[0] == -np.inf
    assert not hasattr(y.grad_fn, "created_at")


def test_finite_computations_run_unchanged_inside() -> None:
    x = cr.tensor([0.5, 2.0], requires_grad=True)
    with cr.detect_anomaly():
        loss = cr.softplus(x * 3).sum()
        loss.backward()
    np.testing.assert_allclose(x.grad, 3 / (1 + np.exp(-3 * x.data)))
