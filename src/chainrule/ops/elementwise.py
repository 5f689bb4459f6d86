"""Elementwise arithmetic: each op's forward and its vector-Jacobian product side by side.

Inputs broadcast like NumPy; each backward returns gradients of the broadcast shape and the
engine sums them back to each input's shape (``accumulation.unbroadcast``).

One number at a time
--------------------
A scalar network (``examples/scalar_network.py``) is made of 0-d arrays, and NumPy takes
0.33–0.6 µs for an operation on a 0-d array but 0.06 µs for the same operation on NumPy scalars
(``a[()]``, 0.05 µs to take). So the hottest ops below work on ``x[()]`` where an operand is one
number: + − × ÷ round alike on arrays and on scalars (IEEE arithmetic, the same dtype rules since
NumPy 2), so the results are the same bit for bit. Saved arrays stay arrays (a change in place
is still caught, ``versions``): only the arithmetic takes the scalar. Measured on the scalar
network's step with ``optim.SGD`` (best-of, A/B): 48.1 µs before, 43.0 with mul's backward on
scalars, 40.6 with the forwards of + − × too (square: within noise); ÷ (a loss divided by the
batch size): its forward 3.0 -> 1.7 µs. Only float64 forwards take it (integer scalars warn on
overflow where arrays wrap). NumPy's warnings on scalars say "scalar divide" for "divide".
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..engine.function import Function, named, plain_number
from ..engine.tensor import DEFAULT_DTYPE as FLOAT64, Tensor

# the selection ops lived here: their old names still import from this module
from .selection import Clip, Compare, Maximum, Minimum, Where, clip, compare, maximum, minimum, where  # noqa: F401


def one_number(math_function: Callable[[float], float], ufunc: np.ufunc, x: np.ndarray) -> Any:
    """``ufunc(x)``; for one float64 number, Python's ``math`` (ten times quicker than a ufunc on 0-d).

    The two differ in the last bits for some inputs (NumPy's vectorised exp, log and tanh are not
    the C library's: up to 2 ulps apart): a 0-d float64 array takes ``math`` here as in trace's scalar replays, so a
    replay on Python floats equals eager mode bit for bit. Where ``math`` refuses (``exp(1000)``,
    ``log(0)``) the ufunc gives inf or nan as for any array.
    """
    # == and not `is` (50 ns quicker): an unpickled float64 array has a dtype equal to but not the same object
    # as NumPy's own, and taking the ufunc for it would change the last bits
    if x.ndim == 0 and x.dtype == np.float64:
        try:
            return np.float64(math_function(float(x)))
        except (OverflowError, ValueError):
            pass
    return ufunc(x)


class Add(Function):
    """d/da (a + b) = 1, d/db (a + b) = 1"""

    template = "{0} + {1}"
    scalar_forward, scalar_backward = "{0} + {1}", ("{grad}", "{grad}")

    def forward(self, a, b):
        if a.ndim == 0 == b.ndim and a.dtype is b.dtype is FLOAT64:  # two numbers: "One number at a time"
            return a[()] + b[()]
        return a + b

    def backward(self, grad_out):
        return grad_out, grad_out

    def vjp(self, grad_out, a, b):
        return grad_out, grad_out

    def jvp(self, tangents, a, b):
        return tangents[0] + tangents[1]


class Sub(Function):
    """d/da (a − b) = 1, d/db (a − b) = −1"""

    template = "{0} − {1}"
    scalar_forward, scalar_backward = "{0} - {1}", ("{grad}", "-{grad}")

    def forward(self, a, b):
        if a.ndim == 0 == b.ndim and a.dtype is b.dtype is FLOAT64:  # two numbers: "One number at a time"
            return a[()] - b[()]
        return a - b

    def backward(self, grad_out):
        return grad_out, (-grad_out if self.needs_input_grad[1] else None)

    def vjp(self, grad_out, a, b):
        return grad_out, (-grad_out if self.needs_input_grad[1] else None)

    def jvp(self, tangents, a, b):
        return tangents[0] - tangents[1]


class Mul(Function):
    """d/da (a · b) = b, d/db (a · b) = a"""

    template = "{0} · {1}"
    scalar_forward, scalar_backward = "{0} * {1}", ("{grad} * {1}", "{grad} * {0}")

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 0 == b.ndim and a.dtype is b.dtype is FLOAT64:  # two numbers: "One number at a time"
            return a[()] * b[()]
        return a * b

    def backward(self, grad_out):
        needs_a, needs_b = self.needs_input_grad
        a, b = self.a, self.b
        if a is b and needs_a:  # x · x (a user's (W * W).sum()): the two products are equal, so make one;
            grad = grad_out * (a[()] if not a.ndim else a)  # the engine adds it to itself, as it added the two
            return grad, grad  # backward of w * w, w of 1000×3: 3.6 -> 1.9 µs
        if not a.ndim:  # one number: its NumPy scalar ("One number at a time", above)
            a = a[()]
        if not b.ndim:
            b = b[()]
        return (grad_out * b if needs_a else None), (grad_out * a if needs_b else None)

    def vjp(self, grad_out, a, b):
        needs_a, needs_b = self.needs_input_grad
        return (grad_out * b if needs_a else None), (grad_out * a if needs_b else None)

    def jvp(self, tangents, a, b):
        return tangents[0] * b + a * tangents[1]


class Div(Function):
    """d/da (a / b) = 1/b, d/db (a / b) = −a/b²"""

    template = "{0} / {1}"
    scalar_forward, scalar_backward = "{0} / {1}", ("{grad} / {1}", "-{grad} * ({0} / {1}) / {1}")

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 0 == b.ndim and a.dtype is b.dtype is FLOAT64:  # two numbers: "One number at a time"
            return a[()] / b[()]
        return a / b

    def backward(self, grad_out):
        needs_a, needs_b = self.needs_input_grad
        a, b = self.a, self.b
        if not a.ndim:  # one number: its NumPy scalar ("One number at a time", above)
            a = a[()]
        if not b.ndim:
            b = b[()]
        grad_a = grad_out / b if needs_a else None
        # −g·(a/b)/b, not −g·a/b²: b² overflows (b = 1e160) or underflows (b = 1e-170) where the gradient does not
        # (PyTorch groups it −g·((a/b)/b): the last bit may differ; this order overflows less for a tiny g)
        grad_b = -grad_out * (a / b) / b if needs_b else None
        return grad_a, grad_b

    def vjp(self, grad_out, a, b):
        needs_a, needs_b = self.needs_input_grad
        return (grad_out / b if needs_a else None), (-grad_out * (a / b) / b if needs_b else None)

    def jvp(self, tangents, a, b):
        return (tangents[0] - a / b * tangents[1]) / b  # PyTorch's form: −inf, not inf − inf, for 1/0


class Neg(Function):
    """d/dx (−x) = −1"""

    template = "−{0}"
    scalar_forward, scalar_backward = "-{0}", ("-{grad}",)

    def forward(self, x):
        return -x

    def backward(self, grad_out):
        return -grad_out

    def vjp(self, grad_out, x):
        return -grad_out

    def jvp(self, tangents, x):
        return -tangents[0]


class PowScalar(Function):
    """d/dx xᵖ = p·xᵖ⁻¹ (p a constant number)

    For p = 0 the derivative is 0 everywhere, x = 0 included (where p·xᵖ⁻¹ would compute 0 · inf).
    """

    name = "pow"

    def formula(self, names):
        exponent = self.options["exponent"]
        return names[0] + {2: "²", 3: "³", -1: "⁻¹"}.get(exponent, f"^{exponent}")

    # np.power, not **: on a NumPy scalar (a traced replay's 0-d results) ** takes NumPy's scalar pow,
    # which rounds differently from the array loop in the last bit; the ufunc is the same for both
    def forward(self, x, exponent):
        self.x, self.exponent = x, exponent
        if exponent == 2:
            return np.square(x[()] if x.ndim == 0 else x)  # one number: "One number at a time", above
        return np.power(x, exponent)

    def scalar_rule(self, options):
        """x² on Python floats for trace's scalar replays; other exponents replay with np.power (it differs from math.pow)."""
        return ("{0} * {0}", ("({grad} + {grad}) * {0}",)) if options["exponent"] == 2 else None

    def backward(self, grad_out):
        if self.exponent == 2:  # 2·grad_out exactly, and quicker than grad_out * 2
            x = self.x
            if x.ndim == 0:  # one number: "One number at a time", above
                return (grad_out + grad_out) * x[()]
            return (grad_out + grad_out) * x
        if self.exponent == 0:  # x⁰ = 1 is constant: never 0 · 0⁻¹ = nan at x = 0
            return np.zeros_like(grad_out)
        return grad_out * self.exponent * np.power(self.x, self.exponent - 1)

    def vjp(self, grad_out, x):
        return grad_out * _power_derivative(x, self.exponent, grad_out)

    def jvp(self, tangents, x):
        return tangents[0] * _power_derivative(x, self.exponent, tangents[0])


def _power_derivative(x: Tensor, exponent: Any, like: Tensor) -> Tensor:
    """p·xᵖ⁻¹ as a tensor with a graph: zeros (of ``like``'s shape) for p = 0, 2x for p = 2, as the backward takes them."""
    if exponent == 0:
        return _zeros(like)
    if exponent == 2:
        return x + x
    return pow(x, exponent - 1) * exponent


def _zeros(like: Tensor) -> Tensor:
    """A constant tensor of zeros shaped like ``like``: the gradient of an input on which the result does not depend."""
    return Tensor(np.zeros(like.shape, like.dtype))


class Pow(Function):
    """d/da aᵇ = b·aᵇ⁻¹ (0 where b = 0), d/db aᵇ = aᵇ·ln a (0 where a = 0 and b ≥ 0), as in PyTorch"""

    template = "{0}^{1}"

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.power(a, b)  # the ufunc, as in PowScalar
        return self.out

    def backward(self, grad_out):
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad_b = None
        if needs_a:  # aᵇ⁻¹ only where b ≠ 0: at a = 0, b = 0 it would be inf and b·aᵇ⁻¹ nan
            power = np.zeros_like(self.out)
            np.power(self.a, self.b - 1, out=power, where=self.b != 0)
            grad_a = grad_out * self.b * power
        if needs_b:  # ln a is −inf at 0 (0 · −inf is masked) and nan below 0, as in PyTorch: silently
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = grad_out * np.where((self.a == 0) & (self.b >= 0), 0.0, self.out * np.log(self.a))
        return grad_a, grad_b

    def vjp(self, grad_out, a, b):
        needs_a, needs_b = self.needs_input_grad
        return (
            (grad_out * _pow_base_derivative(a, b) if needs_a else None),
            (grad_out * _pow_exponent_derivative(a, b) if needs_b else None),
        )

    def jvp(self, tangents, a, b):
        return tangents[0] * _pow_base_derivative(a, b) + tangents[1] * _pow_exponent_derivative(a, b)


@np.errstate(divide="ignore", invalid="ignore")  # 0⁻¹ and (−2)^0.5 are computed as inf and nan, silently, as before
def _pow_base_derivative(a: Tensor, b: Tensor) -> Tensor:
    """b·aᵇ⁻¹, 0 where b = 0, as a tensor with a graph (``Pow.backward``'s rule, as PyTorch's).

    Where b = 0 the power is taken of exponent 0, not −1, so that no 0⁻¹ = inf is ever made there:
    its gradient would be multiplied by the masked 0 and give nan.
    """
    exponent_zero = b.data == 0
    return where(exponent_zero, 0.0, b * pow(a, where(exponent_zero, 1.0, b) - 1))


@np.errstate(divide="ignore", invalid="ignore")
def _pow_exponent_derivative(a: Tensor, b: Tensor) -> Tensor:
    """aᵇ·ln a, 0 where a = 0 and b ≥ 0, as a tensor with a graph (``Pow.backward``'s rule, as PyTorch's).

    The masked places compute with base 1 instead of 0, so no ln 0 = −inf enters the graph there.
    """
    masked = (a.data == 0) & (b.data >= 0)
    base = where(masked, 1.0, a)
    return where(masked, 0.0, pow(base, b) * log(base))


class Exp(Function):
    """d/dx eˣ = eˣ"""

    template = "exp({0})"
    scalar_forward, scalar_backward = "exp({0})", ("{grad} * {out}",)

    def forward(self, x):
        self.out = one_number(math.exp, np.exp, x)
        return self.out

    def backward(self, grad_out):
        return grad_out * self.out

    def vjp(self, grad_out, x):
        return grad_out * exp(x)

    def jvp(self, tangents, x):
        return tangents[0] * exp(x)


class Log(Function):
    """d/dx ln x = 1/x"""

    template = "ln({0})"
    scalar_forward, scalar_backward = "log({0})", ("{grad} / {0}",)

    def forward(self, x):
        self.x = x
        return one_number(math.log, np.log, x)

    def backward(self, grad_out):
        return grad_out / self.x

    def vjp(self, grad_out, x):
        return grad_out / x

    def jvp(self, tangents, x):
        return tangents[0] / x


class Sqrt(Function):
    """d/dx √x = 1/(2√x)"""

    template = "√{0}"
    scalar_forward, scalar_backward = "sqrt({0})", ("{grad} / (2 * {out})",)

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad_out):
        return grad_out / (2 * self.out)

    def vjp(self, grad_out, x):
        return grad_out / (sqrt(x) * 2)

    def jvp(self, tangents, x):
        return tangents[0] / (sqrt(x) * 2)


class Abs(Function):
    """d/dx |x| = sign(x) (0 at x = 0)"""

    template = "|{0}|"

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, grad_out):
        return grad_out * np.sign(self.x)

    def vjp(self, grad_out, x):
        return grad_out * np.sign(x.data)  # the sign is constant on each side of 0: no second derivative

    def jvp(self, tangents, x):
        return tangents[0] * np.sign(x.data)


def add(a: Any, b: Any, name: str | None = None) -> Tensor:
    """``a + b`` with broadcasting."""
    return named(Add.apply(a, b), name)


def sub(a: Any, b: Any, name: str | None = None) -> Tensor:
    """``a - b`` with broadcasting."""
    return named(Sub.apply(a, b), name)


def mul(a: Any, b: Any, name: str | None = None) -> Tensor:
    """``a * b`` elementwise, with broadcasting."""
    return named(Mul.apply(a, b), name)


def div(a: Any, b: Any, name: str | None = None) -> Tensor:
    """``a / b`` elementwise, with broadcasting."""
    return named(Div.apply(a, b), name)


def neg(x: Any, name: str | None = None) -> Tensor:
    """``-x``."""
    return named(Neg.apply(x), name)


def pow(base: Any, exponent: Any, name: str | None = None) -> Tensor:  # noqa: A001 - mirrors NumPy/PyTorch naming
    """``base ** exponent``; a constant number exponent takes the cheaper rule p·xᵖ⁻¹.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> cr.pow(x, 3).sum().backward(); x.grad
    array([ 3., 12.])
    """
    if isinstance(exponent, (int, float, np.number)) and not isinstance(exponent, bool):
        return named(PowScalar.apply(base, exponent=plain_number(exponent)), name)
    return named(Pow.apply(base, exponent), name)


def exp(x: Any, name: str | None = None) -> Tensor:
    """eˣ elementwise."""
    return named(Exp.apply(x), name)


def log(x: Any, name: str | None = None) -> Tensor:
    """Natural logarithm elementwise."""
    return named(Log.apply(x), name)


def sqrt(x: Any, name: str | None = None) -> Tensor:
    """Square root elementwise."""
    return named(Sqrt.apply(x), name)


def abs(x: Any, name: str | None = None) -> Tensor:  # noqa: A001
    """|x| elementwise; its derivative at 0 is taken as 0."""
    return named(Abs.apply(x), name)
