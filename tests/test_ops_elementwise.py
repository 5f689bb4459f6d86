"""Elementwise arithmetic: gradients against finite differences and PyTorch, broadcasting included."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule as cr
from oracles import OpCase, op_tests, relative_error

CASES = [
    OpCase("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (3, 4)]),
    OpCase("add broadcast", lambda a, b: a + b, lambda a, b: a + b, [(2, 3, 4), (3, 1)]),
    OpCase("sub broadcast", lambda a, b: a - b, lambda a, b: a - b, [(4,), (3, 4)]),
    OpCase("mul broadcast", lambda a, b: a * b, lambda a, b: a * b, [(3, 1, 4), (1, 5, 1)]),
    OpCase("div broadcast", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (4,)], ["any", "positive"]),
    OpCase("rsub number", lambda a: 2.5 - a, lambda a: 2.5 - a, [(3, 2)]),
    OpCase("rdiv number", lambda a: 2.5 / a, lambda a: 2.5 / a, [(3, 2)], ["positive"]),
    OpCase("neg", lambda a: -a, lambda a: -a, [(2, 3)]),
    OpCase("pow number", lambda a: a**3, lambda a: a**3, [(2, 3)]),
    OpCase("pow square", lambda a: a**2, lambda a: a**2, [(2, 3)]),
    OpCase("pow fractional", lambda a: a**1.5, lambda a: a**1.5, [(2, 3)], ["positive"]),
    OpCase("pow tensor", lambda a, b: a**b, lambda a, b: a**b, [(2, 3), (3,)], ["positive", "any"]),
    OpCase("rpow number", lambda a: 2.0**a, lambda a: 2.0**a, [(4,)]),
    OpCase("exp", cr.exp, lambda a: a.exp(), [(3, 4)]),
    OpCase("log", cr.log, lambda a: a.log(), [(3, 4)], ["positive"]),
    OpCase("sqrt", cr.sqrt, lambda a: a.sqrt(), [(3, 4)], ["positive"]),
    OpCase("abs", cr.abs, lambda a: a.abs(), [(3, 4)], ["nonzero"]),
    OpCase("maximum", cr.maximum, lambda a, b: a.maximum(b), [(3, 4), (4,)], ["distinct", "distinct"]),
    OpCase("minimum", cr.minimum, lambda a, b: a.minimum(b), [(3, 4), (3, 1)], ["distinct", "distinct"]),
    OpCase("clip", lambda a: cr.clip(a, -0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [(4, 5)], ["distinct"]),
    OpCase("clip low only", lambda a: cr.clip(a, min=0.05), lambda a: a.clamp(min=0.05), [(4, 5)], ["distinct"]),
    OpCase(
        "where",
        lambda a, b, condition: cr.where(condition, a, b),
        lambda a, b, condition: a.where(a.new_tensor(condition, dtype=bool), b),
        [(3, 4), (4,)],
        constants=lambda rng: {"condition": rng.random((3, 4)) > 0.5},
    ),
]


test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (cr.maximum, lambda a, b: a.maximum(b)),
    "pow": (lambda a, b: a**b, lambda a, b: a**b),
}


@settings(max_examples=40, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**32 - 1),
)
def test_broadcasting_reduces_gradients_to_each_input_shape(shapes, op, seed, torch) -> None:
    """Any broadcastable pair: gradients have the inputs' shapes and equal PyTorch's and finite differences."""
    rng = np.random.default_rng(seed)
    ours, theirs = BINARY[op]
    shape_a, shape_b = shapes.input_shapes
    a = rng.uniform(0.5, 2.0, size=shape_a)
    b = rng.uniform(0.5, 2.0, size=shape_b) + (1e-3 if op == "maximum" else 0)
    weights = rng.normal(size=shapes.result_shape)
    ta, tb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    (ours(ta, tb) * weights).sum().backward()
    assert ta.grad.shape == shape_a and tb.grad.shape == shape_b

    xa = torch.tensor(a, requires_grad=True)
    xb = torch.tensor(b, requires_grad=True)
    (theirs(xa, xb) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ta.grad, xa.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, xb.grad.numpy(), rtol=1e-10, atol=1e-12)

    from chainrule.check import numerical_gradient

    numeric_a, numeric_b = numerical_gradient(lambda x, y: (ours(x, y) * weights).sum(), a, b)
    assert relative_error(ta.grad, numeric_a) < 1e-6
    assert relative_error(tb.grad, numeric_b) < 1e-6


def test_ties_split_the_gradient_like_torch(torch) -> None:
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = cr.tensor([1.0, 5.0, 0.0], requires_grad=True)
    cr.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])
    xa = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    xb = torch.tensor([1.0, 5.0, 0.0], requires_grad=True)
    xa.maximum(xb).sum().backward()
    np.testing.assert_array_equal(a.grad, xa.grad.numpy())


def test_abs_and_clip_at_their_kinks_follow_torch(torch) -> None:
    x = cr.tensor([0.0, -1.0, 1.0, 2.0], requires_grad=True)
    (cr.abs(x) + cr.clip(x, -1.0, 1.0)).sum().backward()
    reference = torch.tensor([0.0, -1.0, 1.0, 2.0], requires_grad=True)
    (reference.abs() + reference.clamp(-1.0, 1.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, reference.grad.numpy())


def test_numbers_and_arrays_mix_on_either_side() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    array = np.array([3.0, 4.0])
    for result, expected in [
        (x + 1, [2.0, 3.0]),
        (1 + x, [2.0, 3.0]),
        (array * x, [3.0, 8.0]),
        (x * array, [3.0, 8.0]),
        (array - x, [2.0, 2.0]),
        (x / array, [1 / 3, 0.5]),
        (array / x, [3.0, 2.0]),
        (2**x, [2.0, 4.0]),
    ]:
        assert isinstance(result, cr.Tensor)
        assert result.requires_grad
        np.testing.assert_allclose(result.data, expected)
    (array @ x).backward()
    np.testing.assert_array_equal(x.grad, array)


def test_float32_stays_float32() -> None:
    x = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = cr.maximum(x * 0.5 + 1, 0.2) / 3 - 2**x
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_clip_needs_a_bound() -> None:
    with pytest.raises(ValueError, match="clip: give min=, max= or both"):
        cr.clip(cr.tensor([1.0]))


# Every op that takes a number, as an input or as a constant option; c is the number, x a vector, s a 0-d tensor.
OPS_TAKING_A_NUMBER = {
    "x + c": lambda x, s, c: x + c,
    "c + x": lambda x, s, c: c + x,
    "x - c": lambda x, s, c: x - c,
    "c - x": lambda x, s, c: c - x,
    "x * c": lambda x, s, c: x * c,
    "c * x": lambda x, s, c: c * x,
    "x / c": lambda x, s, c: x / c,
    "c / x": lambda x, s, c: c / x,
    "x ** c": lambda x, s, c: x**c,
    "c ** x": lambda x, s, c: c**x,
    "pow(x, c)": lambda x, s, c: cr.pow(x, c),
    "maximum(x, c)": lambda x, s, c: cr.maximum(x, c),
    "minimum(c, x)": lambda x, s, c: cr.minimum(c, x),
    "where(m, x, c)": lambda x, s, c: cr.where([True, False, True], x, c),
    "clip(x, c, None)": lambda x, s, c: cr.clip(x, c, None),
    "clip(x, None, c)": lambda x, s, c: cr.clip(x, None, c),
    "leaky_relu(x, c)": lambda x, s, c: cr.leaky_relu(x - 1, c),
    "linear(x, W, c)": lambda x, s, c: cr.linear(x, np.eye(3, dtype=x.dtype), c),
    "mse(s, c)": lambda x, s, c: cr.mse(s, c),
    "binary_cross_entropy(s, c)": lambda x, s, c: cr.binary_cross_entropy(s, c),
}
NUMBERS = [2, 0.75, True, np.float64(0.75), np.float32(0.75), np.float16(2.5), np.int64(2), np.uint8(3), np.bool_(True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_a_number_of_any_kind_takes_the_dtype_of_the_tensor_it_meets(dtype) -> None:
    """Python or NumPy, int, float or bool: the result and the gradient keep the tensor's dtype in every op,
    with the values the same number gives as a Python float."""
    wrong = []
    for op_name, op in OPS_TAKING_A_NUMBER.items():
        for number in NUMBERS:
            x = cr.tensor(np.array([0.5, 1.5, 2.0], dtype), requires_grad=True)
            s = cr.tensor(np.array(0.25, dtype), requires_grad=True)
            out = op(x, s, number)
            out.sum().backward()
            expected = op(cr.tensor(x.data), cr.tensor(s.data), float(number))
            if (
                out.dtype != dtype
                or x.grad is not None
                and x.grad.dtype != dtype
                or s.grad is not None
                and s.grad.dtype != dtype
            ):
                wrong.append(f"{op_name} with {number!r}: {out.dtype}")
            elif not np.allclose(out.data, expected.data, rtol=1e-3):
                wrong.append(f"{op_name} with {number!r}: {out.data} instead of {expected.data}")
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("exponent", [0, 0.0, np.float64(0), np.int64(0)])
def test_the_derivative_of_x_to_the_0_is_0_everywhere_like_torch(exponent, torch) -> None:
    values = [-2.0, -0.5, 0.0, 0.0, 1.5]
    x = cr.tensor(values, requires_grad=True)
    with np.errstate(all="raise"):
        out = cr.relu(x) ** exponent
        out.sum().backward()
    reference = torch.tensor(values, requires_grad=True)
    (torch.relu(reference) ** 0).sum().backward()
    np.testing.assert_array_equal(out.data, np.ones(5))
    np.testing.assert_array_equal(x.grad, reference.grad.numpy())
    np.testing.assert_array_equal(x.grad, np.zeros(5))


def test_pow_of_tensors_matches_torch_at_zero_exponents_zero_bases_and_negative_bases(torch) -> None:
    """d/da aᵇ = 0 where b = 0 (a = 0 included) and d/db aᵇ = 0 at a = 0, b ≥ 0, silently; elsewhere inf and
    nan exactly where PyTorch has them (0 to a negative or fractional power, ln of a negative base)."""
    silent = ([0.0, 0.0, 0.0, 0.0, 2.0, -2.0, -2.0, 0.5], [0.0, 1.0, 2.0, 2.5, 0.0, 0.0, 2.0, 0.0])
    warned = ([0.0, 0.0, 0.0, -2.0, -1.5], [-1.0, 0.5, -0.5, 0.5, 3.0])  # NumPy warns computing 0⁻¹, (−2)^0.5
    for (bases, exponents), errors in ((silent, "raise"), (warned, "ignore")):
        a, b = cr.tensor(bases, requires_grad=True), cr.tensor(exponents, requires_grad=True)
        weights = np.arange(1.0, len(bases) + 1)
        with np.errstate(all=errors):
            (cr.pow(a, b) * weights).sum().backward()
        ta, tb = torch.tensor(bases, requires_grad=True), torch.tensor(exponents, requires_grad=True)
        (ta**tb * torch.tensor(weights)).sum().backward()
        np.testing.assert_array_equal(a.grad, ta.grad.numpy())
        np.testing.assert_array_equal(b.grad, tb.grad.numpy())
        if errors == "raise":
            assert np.all(a.grad[b.data == 0] == 0) and not np.any(np.isnan(a.grad))


def test_clip_takes_tensor_bounds_without_gradient() -> None:
    x = cr.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    np.testing.assert_array_equal(cr.clip(x, cr.tensor(0.0), cr.tensor([1.0, 1.0, 2.0])).data, [0.0, 0.5, 2.0])
    with pytest.raises(cr.DTypeError, match=r"^clip: min= gets no gradient"):
        cr.clip(x, cr.tensor(0.0, requires_grad=True), None)


def test_a_comparison_of_shapes_that_do_not_fit_names_itself() -> None:
    with pytest.raises(cr.ShapeError, match=r"^greater: shapes \(3,\) and \(4,\) cannot be broadcast together$"):
        cr.tensor(np.ones(3)) > cr.tensor(np.ones(4))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(lambda v: abs(v) > 1e-6),
        min_size=3,
        max_size=3,
    ),
    st.sampled_from(["add", "sub", "mul", "div", "square"]),
)
def test_one_number_gives_the_bits_of_a_one_element_array(values: list[float], op: str) -> None:
    # 0-d float64 operands are computed through NumPy scalars (a quicker path); shape (1,) takes the ufuncs
    def run(shape: tuple[int, ...]) -> list[bytes]:
        a, b = (cr.tensor(np.full(shape, v), requires_grad=True) for v in values[:2])
        c = cr.tensor(np.full(shape, values[2]), requires_grad=True)
        if op == "square":
            y = (a * c) ** 2
        else:
            y = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op] * c
        y.sum().backward()
        return [t.tobytes() for t in (y.data, a.grad, b.grad if b.grad is not None else np.zeros(shape), c.grad)]

    assert run(()) == run((1,))


def test_a_tensor_times_itself_gets_twice_the_product(rng: np.random.Generator) -> None:
    # mul's backward makes one product for x · x; the sum must be the two products' sum, bit for bit
    for shape in ((), (4, 3)):
        x = cr.tensor(rng.normal(size=shape), requires_grad=True)
        grad_out = rng.normal(size=shape)
        (x * x).backward(grad_out)
        assert x.grad.tobytes() == (grad_out * x.data + grad_out * x.data).tobytes()
        h = cr.exp(x)  # an intermediate result times itself: its gradient is summed by the engine
        x.grad = None
        (h * h).backward(grad_out)
        assert x.grad.tobytes() == ((grad_out * h.data + grad_out * h.data) * h.data).tobytes()


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize(("a", "b"), [(1e160, 1e160), (1e-170, 1e-170), (1e-300, 1e-300), (-3.0, 2e155), (5.0, -7.0)])
def test_the_divisors_gradient_where_its_square_overflows_or_underflows(torch, shape, a, b) -> None:
    # −g·a/b² would give −0 for 1e160/1e160 (b² = inf) and −inf for 1e-170/1e-170 (b² = 0); PyTorch's −g·(a/b)/b does not
    x, y = (cr.tensor(np.full(shape, v), requires_grad=True) for v in (a, b))
    (x / y).sum().backward()
    tx, ty = (torch.tensor(np.full(shape, v), requires_grad=True) for v in (a, b))
    (tx / ty).sum().backward()
    np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-15, atol=0)
    assert np.all(np.isfinite(y.grad)) and np.all(y.grad != 0)


def test_one_number_of_an_unpickled_array_takes_math_as_any_float64_number(rng: np.random.Generator) -> None:
    # an unpickled float64 array (Dask, multiprocessing) has a dtype equal to NumPy's float64 but not the same
    # object: its one-number exp, log, tanh and σ must still be math's (as trace's float replays compute them),
    # not the ufunc's, which differs in the last bit for some of these numbers
    values = np.concatenate([[-5.688192131637191, 11.4314280285523, 1.7449996586169156], rng.uniform(-20, 20, 300)])
    for op, rule in [(cr.exp, math.exp), (cr.tanh, math.tanh), (cr.sigmoid, lambda v: 1 / (1 + math.exp(-v)))]:
        for value in values:
            number = cr.tensor(pickle.loads(pickle.dumps(np.array(value))))
            assert number.dtype == np.float64 and number.dtype is not np.dtype(np.float64)
            assert op(number).item() == rule(float(value))
    for value in (1.9733918845096263, 0.9744258657545245, *np.abs(values) + 0.1):
        assert cr.log(cr.tensor(pickle.loads(pickle.dumps(np.array(value))))).item() == math.log(float(value))
