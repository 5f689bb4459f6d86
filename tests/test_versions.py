"""Changes in place: the tutorial's update works, and no backward computes with changed values.

Issue items: a tensor changed between forward and backward gave a silently wrong gradient
(``y = (w * w).sum(); w.data[0] = 100; y.backward()`` gave [200, 4]); ``w -= lr * w.grad``
under ``no_grad()`` made ``w`` a new tensor that no longer required grad.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr


def test_the_tutorial_update_changes_the_same_tensor_in_place() -> None:
    w = cr.tensor([1.0, -2.0], requires_grad=True, name="w")
    array = w.data
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with cr.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    # w ← 0.8 w three times, on the same array, still a leaf that requires grad
    np.testing.assert_allclose(w.data, np.array([1.0, -2.0]) * 0.8**3, rtol=0, atol=1e-15)
    assert w.data is array and w.requires_grad and w.is_leaf


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (lambda t: t.__iadd__(2.0), [3.0, 4.0]),
        (lambda t: t.__isub__(cr.tensor([1.0, 1.0])), [0.0, 1.0]),
        (lambda t: t.__imul__(np.array([2.0, 3.0])), [2.0, 6.0]),
        (lambda t: t.__itruediv__(4), [0.25, 0.5]),
    ],
)
def test_each_in_place_operator(update, expected) -> None:  # type: ignore[no-untyped-def]
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        assert update(t) is t
    np.testing.assert_array_equal(t.data, expected)


def test_in_place_keeps_float32() -> None:
    t = cr.tensor([1.0, 2.0], dtype=np.float32)
    t *= np.float64(2.5)
    t += np.ones(2)  # a float64 array too
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array([3.5, 6.0], dtype=np.float32))


def test_in_place_on_a_leaf_that_requires_grad_while_recording_is_an_error() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    w.grad = np.ones(2)
    with pytest.raises(cr.GraphError, match=r"^-=: 'w' is a leaf that requires grad.*inside a cr\.no_grad\(\) block"):
        w -= 0.1 * w.grad
    np.testing.assert_array_equal(w.data, [1.0, 2.0])  # nothing changed


def test_in_place_on_a_result_in_the_graph_is_an_error() -> None:
    y = cr.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(cr.GraphError, match=r"^\+=: in-place operations are not recorded"):
        y += 1


def test_in_place_without_grad_needs_no_no_grad() -> None:
    t = cr.tensor([1.0, 2.0])
    t -= 1
    np.testing.assert_array_equal(t.data, [0.0, 1.0])


def test_in_place_bad_input_gets_one_line() -> None:
    labels = cr.tensor([1, 2], dtype=np.int64)
    with pytest.raises(cr.DTypeError, match=r"^\+=: the result would be float64 but .* holds int64"):
        labels += 0.5
    t = cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(cr.ShapeError, match=r"^\+=: shapes \(3,\) and \(2, 3\) do not fit"):
        t += np.ones((2, 3))
    with pytest.raises(cr.DTypeError, match=r"^\*=: 'a' is not numbers"):
        t *= "a"


def test_a_change_in_place_between_forward_and_backward_is_an_error() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    y = (w * w).sum()
    with cr.no_grad():
        w -= 0.5
    with pytest.raises(cr.GraphError) as error:
        y.backward()
    message = str(error.value)
    assert "'w' of mul" in message and "by -= at " in message and "test_versions.py" in message
    assert "\n" not in message
    assert w.grad is None  # no wrong gradient was stored


def test_the_line_that_created_the_op_is_named_under_detect_anomaly() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    with cr.detect_anomaly():
        y = cr.sigmoid(w * w).sum()  # the op's line
    with cr.no_grad():
        w *= 2
    with pytest.raises(cr.GraphError, match=r"mul was created at .*test_versions.py:\d+: y = cr.sigmoid\(w \* w\)"):
        y.backward()


def test_a_changed_result_saved_by_its_op_is_caught() -> None:
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    y = cr.exp(x)  # exp's backward reads its result
    with cr.no_grad():
        y += 1
    with pytest.raises(cr.GraphError, match="the result of exp"):
        y.sum().backward()


def test_changes_through_detach_and_views_are_caught() -> None:
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (w * w).sum()
    alias = w.detach()  # shares w's memory
    alias += 1
    with pytest.raises(cr.GraphError, match="changed in place"):
        y.backward()
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        row = w.reshape(4)[1:3]  # a view of w's memory, made by ops outside the graph
        row *= 0
    with pytest.raises(cr.GraphError, match="changed in place"):
        y.backward()


def test_ops_that_saved_nothing_of_the_changed_tensor_still_run() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w + 1).sum() + cr.exp(w).sum()  # add keeps no values for its backward, exp keeps its result
    with cr.no_grad():
        w += 1
    y.backward()
    np.testing.assert_allclose(w.grad, 1 + np.exp([1.0, 2.0]), rtol=1e-15)


def test_an_optimizer_step_between_forward_and_backward_is_caught() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * w).sum()
    opt.step()
    with pytest.raises(cr.GraphError, match=r"changed in place by SGD\.step\(\)"):
        y.backward()


def test_training_after_steps_is_not_slowed_by_checks() -> None:
    # nodes made after the newest change are not looked at: the same numbers as without any change
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        w *= 1.0
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_a_write_into_data_is_caught_inside_detect_anomaly() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    with cr.detect_anomaly():
        y = (w * w).sum()
        w.data[0] = 100  # bypasses the version stamps, as in PyTorch
        with pytest.raises(cr.AnomalyError, match=r"'w' of mul .* was changed after mul saved it.*created at"):
            y.backward()
    assert w.grad is None


def test_replacing_data_keeps_the_saved_values() -> None:
    # setting .data to a new array stays allowed; the graph computes with the values it saw
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.data = np.array([100.0, 100.0])
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_explain_refuses_values_changed_since_the_forward_pass() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    with cr.no_grad():
        w += 1
    with pytest.raises(cr.GraphError, match="'w' of mul .* was changed in place"):
        cr.explain(loss)


def test_power_in_place_and_matmul_in_place() -> None:
    w = cr.tensor([2.0, 3.0], requires_grad=True, name="w")
    with cr.no_grad():
        w **= 2
    assert w.requires_grad and w.name == "w"  # the same tensor, not a new one
    np.testing.assert_array_equal(w.data, [4.0, 9.0])
    with pytest.raises(cr.GraphError, match=r"^\*\*=: 'w' is a leaf that requires grad"):
        w **= 2
    with pytest.raises(TypeError, match=r"^@=: a matrix product is not made in place"):
        w @= np.eye(2)


def test_refusals_do_not_claim_a_gradient_is_wrong_when_it_might_not_be() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * 3.0).sum()  # mul keeps both operands, though d/dw needs only 3
    with cr.no_grad():
        w -= 1
    with pytest.raises(cr.GraphError, match="the gradient could be wrong"):
        y.backward()


def test_a_change_in_place_reaches_windows_a_convolution_saved_as_a_strided_view() -> None:
    """A 1×1 convolution of a channels-last result saves its input's windows as a view made by as_strided."""
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.normal(size=(2, 3, 5, 5)))
    w1 = cr.tensor(rng.normal(size=(8, 3, 3, 3)), requires_grad=True)
    w2 = cr.tensor(rng.normal(size=(5, 8, 1, 1)), requires_grad=True)
    h = cr.conv2d(x, w1, padding=1)
    y = cr.conv2d(h, w2)
    with cr.no_grad():
        h *= 0.0
    with pytest.raises(cr.GraphError, match="conv2d"):
        y.sum().backward()
    base = np.arange(10.0)
    windows = np.lib.stride_tricks.sliding_window_view(base, 3)
    assert cr.engine.versions.owner(windows) is base


def test_changes_in_place_of_one_number_match_numpy_bit_for_bit_and_are_stamped(rng: np.random.Generator) -> None:
    # a 0-d float64 tensor is changed through NumPy scalars (a quicker path): the same IEEE results
    for symbol, ufunc in (("+=", np.add), ("-=", np.subtract), ("*=", np.multiply), ("/=", np.true_divide)):
        for value, other in rng.normal(size=(20, 2)):
            w = cr.tensor(value, requires_grad=True, name="w")
            array = w.data
            expected = ufunc(np.array(value), np.array(other))
            y = w * w
            with cr.no_grad():
                if symbol == "+=":
                    w += other
                elif symbol == "-=":
                    w -= np.float64(other)
                elif symbol == "*=":
                    w *= other
                else:
                    w /= np.float64(other)
            assert w.data is array and w.data.tobytes() == expected.tobytes()
            with pytest.raises(cr.GraphError, match=rf"'w' of mul .* by {re.escape(symbol)} at .*test_versions.py:\d+"):
                y.backward()
    frozen = cr.tensor(1.0)
    frozen.data.flags.writeable = False
    with pytest.raises(ValueError, match=r"^-=: .*array is read-only"):
        frozen -= 0.5
    counts = cr.tensor(np.array(3), dtype=np.int64)
    with pytest.raises(cr.DTypeError, match=r"^\+=: the result would be float64 but .* holds int64"):
        counts += 0.5
