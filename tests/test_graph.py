"""backward(): accumulation, freeing, deep graphs, no_grad and the errors of misuse."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.engine.accumulation import unbroadcast
from oracles import Float64Gradient


def test_backward_twice_adds_like_torch() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None


def test_shared_subexpressions_receive_all_their_gradient() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x  # used twice below
    z = y * y + y  # x⁴ + x²
    z.backward()
    assert x.grad == pytest.approx(4 * 27 + 2 * 3)


def test_leaf_gradients_do_not_alias_each_other() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_retain_graph_allows_a_second_backward() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.sigmoid() * 2).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_backward_through_a_freed_graph_is_an_error() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(cr.GraphError, match="was already freed by an earlier backward.*retain_graph=True"):
        loss.backward()


def test_backward_frees_saved_arrays() -> None:
    x = cr.tensor(np.ones(4), requires_grad=True)
    hidden = x * 2
    node = hidden.grad_fn
    loss = (hidden * hidden).sum()
    saved = weakref.ref(loss.grad_fn)
    loss.backward()
    assert node.inputs is None and not hasattr(node, "a")
    del loss
    gc.collect()
    assert saved() is None


def test_backward_from_a_non_scalar_needs_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(cr.GraphError, match=r"backward: the tensor has shape \(2,\), not a scalar; reduce it first"):
        y.backward()
    y.backward(grad=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 30.0])
    with pytest.raises(cr.ShapeError, match=r"backward: grad has shape \(3,\) but the tensor has shape \(2,\)"):
        (x * 3).backward(grad=np.ones(3))


def test_backward_on_a_tensor_without_grad_is_an_error() -> None:
    with pytest.raises(cr.GraphError, match="does not require grad"):
        (cr.tensor([1.0]) * 2).sum().backward()


def test_backward_on_a_leaf() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad == 1.0


def test_no_grad_records_nothing() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = (x * 2).sum()
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            z = (x * 2).sum()
    assert cr.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.requires_grad

    @cr.no_grad()
    def update() -> cr.Tensor:
        return x * 2

    assert not update().requires_grad and cr.is_grad_enabled()


def test_ops_on_tensors_without_grad_record_no_graph() -> None:
    y = cr.tensor([1.0, 2.0]).exp() @ cr.tensor([1.0, 1.0])
    assert y.grad_fn is None


def test_a_chain_of_100000_ops_backpropagates_without_recursion() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001 - 0.0
    y.backward()
    expected = 1.0001**100_000 / 1.0  # d/dx of x·1.0001ⁿ
    assert x.grad == pytest.approx(expected, rel=1e-9)
    del y  # dropping a deep graph must not overflow the interpreter stack either


def test_a_dropped_deep_graph_is_freed_without_recursion_errors() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y
    gc.collect()


def test_unbroadcast_sums_over_stretched_axes() -> None:
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(grad, (3, 1)), grad.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(unbroadcast(grad, ()), grad.sum())
    assert unbroadcast(grad, (2, 3, 4)) is grad
    with pytest.raises(cr.ShapeError, match=r"does not broadcast to its input's shape \(5,\)"):
        unbroadcast(grad, (5,))


def test_one_array_handed_to_two_leaves_is_not_shared() -> None:
    class Twice(cr.Function):
        def forward(self, a, b):
            return a * 2 + b * 2

        def backward(self, grad_out):
            both = grad_out * 2
            return both, both

    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    Twice.apply(a, b).sum().backward()
    a.grad[0] = 100.0
    assert b.grad[0] == 2.0


def test_gradients_of_views_are_copied_and_writeable() -> None:
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    x.reshape(6).sum().backward()
    assert x.grad.flags.writeable and x.grad.base is None
    x.grad[0, 0] = 5.0


def test_backward_order_follows_creation_even_across_branches() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    a = x * 3  # created first
    b = x * x  # created second, consumed first below
    ((b + a) * (a - b)).backward()  # (a + b)(a − b) = a² − b² = 9x² − x⁴
    assert x.grad == pytest.approx(18 * 2 - 4 * 8)


def test_a_result_used_many_times_sums_its_gradients_without_touching_the_callers_array(rng) -> None:
    """From its third gradient on, a result's sum is added in place: only into arrays the backward made itself."""
    w = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    seed = rng.normal(size=(3, 4))
    seed_before = seed.copy()
    h = cr.tanh(w)
    (h + h + h * 2.0 + h).backward(seed)  # Add hands the caller's array on: h's first gradient is that array
    np.testing.assert_array_equal(seed, seed_before)
    np.testing.assert_allclose(w.grad, seed * 5.0 * (1 - np.tanh(w.data) ** 2), rtol=1e-14)


def test_an_op_keeps_the_gradient_array_it_returned() -> None:
    class Keep(cr.Function):
        def forward(self, x):
            return x.copy()

        def backward(self, grad_out):
            Keep.handed = grad_out * 1.0
            return Keep.handed

    h = cr.tensor([1.0, 2.0], requires_grad=True) * 1.0
    first, second = h * 2.0, h * 3.0
    (first + second + Keep.apply(h)).sum().backward()
    np.testing.assert_array_equal(Keep.handed, [1.0, 1.0])  # h's later gradients were not added into it


def test_sums_of_float32_and_float64_gradients_keep_numpys_promotion() -> None:
    class Record(cr.Function):  # sees the summed gradient its output received
        def forward(self, x):
            return x.copy()

        def backward(self, grad_out):
            Record.received = grad_out.copy()
            return grad_out

    x = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    h = Record.apply(x)
    late = Float64Gradient.apply(h)  # made first, so its gradient reaches h last, after two float32 ones
    (late + h + h + h).sum().backward()
    assert Record.received.dtype == np.float64  # float32 + float64 is float64, as NumPy adds them
    np.testing.assert_array_equal(Record.received, np.full(3, 3 + 1 / 3))
    assert x.grad.dtype == np.float32


def test_the_gradient_of_a_0d_leaf_is_always_a_0d_array() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    (x * x).backward()
    (x * x).backward()  # the second pass adds: NumPy's 0-d sum is a scalar, .grad stays an array
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad == 12.0
    y = cr.tensor(2.0, requires_grad=True)
    (y * 3.0 + y * y).backward()  # two gradients summed inside the pass
    assert type(y.grad) is np.ndarray and y.grad == 7.0


def test_a_custom_backward_may_return_a_tensor() -> None:
    class Square(cr.Function):
        """d/dx x² = 2x"""

        def forward(self, x):  # type: ignore[no-untyped-def]
            self.x = x
            return x * x

        def backward(self, grad_out):  # type: ignore[no-untyped-def]
            return cr.tensor(2 * self.x) * grad_out  # a Tensor, not an array: its values are used

    x = cr.tensor([1.0, -3.0], requires_grad=True)
    (Square.apply(x) * cr.tensor([1.0, 2.0])).sum().backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [2.0, -12.0])


def test_a_custom_backward_returning_nonsense_is_named() -> None:
    class Broken(cr.Function):
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x

        def backward(self, grad_out):  # type: ignore[no-untyped-def]
            return "oops"

    with pytest.raises(cr.GraphError, match=r"^broken: backward returned str 'oops' as a gradient"):
        Broken.apply(cr.tensor([1.0], requires_grad=True)).sum().backward()


def test_integer_data_put_into_a_leaf_that_requires_grad_is_refused_not_truncated() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    w.data = np.array([1, 2])  # PyTorch refuses this assignment; the gradient would be cut to integers
    with pytest.raises(cr.DTypeError, match=r"^backward: 'w' requires grad but its .data now holds int64"):
        (w * 2.5).sum().backward()


def test_backward_with_a_grad_that_is_not_numbers() -> None:
    y = cr.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(cr.DTypeError, match=r"^backward: grad must be numbers of the tensor's shape \(2,\), got 'a'"):
        y.backward(grad="a")


def test_no_grad_works_as_a_decorator_without_parentheses() -> None:
    w = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad
    def double() -> cr.Tensor:
        return w * 2

    assert not double().requires_grad and cr.is_grad_enabled()


def test_a_leaf_never_keeps_an_array_a_users_backward_returned_as_it_holds_it() -> None:
    """A user's backward may hand back arrays it keeps (an input's data, a constant): .grad gets a copy."""
    constant = np.array([1.0, 2.0])

    class Product(cr.Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, grad_out):
            return self.b, constant  # right for grad_out = 1, and both arrays are held elsewhere

    x = cr.tensor([3.0, 4.0])
    w, v = cr.tensor([0.5, 0.5], requires_grad=True), cr.tensor([0.5, 0.5], requires_grad=True)
    for run in (lambda: Product.apply(w, v).backward(np.ones(2)), cr.trace(lambda: Product.apply(w, v).sum())):
        w.grad = v.grad = None
        with_x = Product.apply(w, x)
        with_x.backward(np.ones(2))
        assert w.grad is not x.data
        w.grad *= 0
        assert np.array_equal(x.data, [3.0, 4.0])
        w.grad = None
        run()
        v.grad += 1
        assert np.array_equal(constant, [1.0, 2.0])
