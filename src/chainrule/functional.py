"""JAX-style function transformations: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``hvp``, ``vjp``, ``jvp``.

Each takes a function of tensors and gives a function (or a value) of arrays. The arguments
being differentiated are copied into fresh leaves, so the caller's tensors are never touched,
and the results are NumPy arrays.

They compose: inside another transformation (``cr.grad(cr.grad(f))``, ``cr.jacobian(cr.grad(f))``)
``grad``, ``value_and_grad`` and ``jacobian`` see tensors that carry the outer graph; they then
differentiate with ``create_graph=True`` and return tensors, so the outer one can differentiate
their result again. That needs every op on the way to have a differentiable backward (``vjp``):
every built-in op has one.

    >>> import chainrule as cr
    >>> f = lambda x: x ** 3
    >>> cr.grad(cr.grad(f))(2.0)      # d²/dx² x³ = 6x
    array(12.)
    >>> cr.hessian(lambda x: (x[0] * x[1] ** 2))([1.0, 3.0])
    array([[0., 6.],
           [6., 2.]])
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from . import ops
from .engine import autograd
from .engine.forward_mode import push_tangents
from .engine.grad_mode import enable_grad, no_grad
from .engine.tensor import FLOAT_DTYPES, Tensor
from .errors import GraphError, ShapeError, format_shape


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., tuple[Any, Any]]:
    """Turn ``f`` (returning a scalar tensor) into a function returning ``(value, gradient)``.

    The arguments named by ``argnums`` may be tensors, arrays or numbers; each is copied into a
    fresh float leaf, so the caller's tensors are never touched. The gradient is an ndarray of
    the argument's shape, or a tuple of them when ``argnums`` is a tuple. Inside another
    transformation both come back as tensors (see the module's docstring).

    >>> import chainrule as cr
    >>> f = lambda x, y: (x * y).sum()
    >>> value, (dx, dy) = cr.value_and_grad(f, argnums=(0, 1))([1.0, 2.0], [3.0, 4.0])
    >>> value, dx, dy
    (11.0, array([3., 4.]), array([1., 2.]))
    """
    single = isinstance(argnums, int)
    positions: tuple[int, ...] = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    name = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nested = autograd.transforms_running > 0
        args_list, leaves = _differentiated_arguments("grad", args, positions, nested)
        out = _call(f, args_list, kwargs)
        _check_scalar(out, name)
        if nested:  # gradients with a graph of their own, for the transformation outside
            grads = _gradients(out, leaves, create_graph=True)
            return out, (grads[0] if single else grads)
        if out.requires_grad:
            out.backward()
        arrays = tuple(leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data) for leaf in leaves)
        return out.item(), (arrays[0] if single else arrays)

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (returning a scalar tensor) into a function returning its gradient.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: (x ** 3).sum())([1.0, 2.0])
    array([ 3., 12.])
    """
    with_value = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return with_value(*args, **kwargs)[1]

    return wrapped


def jacobian(f: Callable[..., Any], argnums: int = 0, mode: str | None = None) -> Callable[..., Any]:
    """Turn ``f`` into a function returning its Jacobian: an array of shape ``out.shape + x.shape``.

    ``mode`` is ``"reverse"`` (one backward pass per output element, as ``jax.jacrev``),
    ``"forward"`` (one forward-mode pass per input element, as ``jax.jacfwd``), or None to
    choose by shape: forward when the input has fewer elements than the output.

    >>> import chainrule as cr
    >>> cr.jacobian(lambda x: x * x)([1.0, 2.0])
    array([[2., 0.],
           [0., 4.]])
    """
    if mode not in (None, "forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'forward', 'reverse' or None (choose by shape), got {mode!r}")
    _check_argnum("jacobian", argnums)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nested = autograd.transforms_running > 0
        args_list, (leaf,) = _differentiated_arguments("jacobian", args, (argnums,), nested)
        out = _call(f, args_list, kwargs)
        if not isinstance(out, Tensor):
            raise GraphError(f"jacobian: f must return a chainrule tensor, got {type(out).__name__}")
        chosen = mode or ("forward" if leaf.data.size < out.data.size else "reverse")
        if not out.requires_grad:
            zeros = np.zeros(out.shape + leaf.shape, dtype=out.data.dtype)
            return Tensor._from_op(zeros, None) if nested else zeros
        if chosen == "reverse":
            rows = [_row(out, leaf, index, nested) for index in np.ndindex(*out.shape)]
        else:
            rows = [_column(out, leaf, index, nested) for index in np.ndindex(*leaf.shape)]
        return _assemble(rows, out.shape, leaf.shape, chosen, nested)

    return wrapped


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn a scalar ``f`` into a function returning its Hessian, of shape ``x.shape + x.shape``.

    The Jacobian of the gradient: reverse mode over the recorded backward pass.

    >>> import chainrule as cr
    >>> cr.hessian(lambda x: (x ** 3).sum())([1.0, 2.0])
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    _check_argnum("hessian", argnums)
    return jacobian(grad(f, argnums), argnums, mode="reverse")


def hvp(f: Callable[..., Any], x: Any, v: Any) -> np.ndarray:
    """The Hessian of the scalar ``f`` at ``x`` times ``v``, without forming the Hessian: ∇(∇f(x) · v).

    Two backward passes whatever the size of x (the second through the graph of the first).

    >>> import chainrule as cr
    >>> cr.hvp(lambda x: (x ** 3).sum(), [1.0, 2.0], [1.0, 1.0])   # diag(6x) · v
    array([ 6., 12.])
    """
    _, (leaf,) = _differentiated_arguments("hvp", (x,), (0,), nested=False)
    direction = _as_float_array(v, leaf.data.dtype)
    if direction.shape != leaf.data.shape:
        raise ShapeError(f"hvp: v has shape {format_shape(direction.shape)} but x has shape {format_shape(leaf.shape)}")
    out = _call(f, [leaf], {})
    _check_scalar(out, getattr(f, "__name__", "f"))
    if not out.requires_grad:
        return np.zeros_like(leaf.data)
    (gradient,) = _gradients(out, [leaf], create_graph=True)
    if not gradient.requires_grad:  # f is linear in x: its Hessian is zero
        return np.zeros_like(leaf.data)
    (product,) = autograd.grad(gradient, [leaf], grad_outputs=[direction], allow_unused=True)
    return np.zeros_like(leaf.data) if product is None else product.data


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[np.ndarray, Callable[[Any], tuple[np.ndarray, ...]]]:
    """``f``'s value at ``primals`` and a function giving the vector-Jacobian product for any vector.

    The graph is recorded once; each call of the returned function is one backward pass.

    >>> import chainrule as cr
    >>> out, vjp_fn = cr.vjp(lambda x: x * x, [1.0, 2.0])
    >>> out, vjp_fn([1.0, 1.0])
    (array([1., 4.]), (array([2., 4.]),))
    """
    _, leaves = _differentiated_arguments("vjp", primals, tuple(range(len(primals))), nested=False)
    out = _call(f, leaves, {})
    if not isinstance(out, Tensor):
        raise GraphError(f"vjp: f must return a chainrule tensor, got {type(out).__name__}")

    def vjp_fn(cotangent: Any) -> tuple[np.ndarray, ...]:
        vector = _as_float_array(cotangent, out.data.dtype)
        if vector.shape != out.data.shape:
            raise ShapeError(
                f"vjp: the vector has shape {format_shape(vector.shape)} but f's output has shape "
                f"{format_shape(out.shape)}"
            )
        if not out.requires_grad:
            return tuple(np.zeros_like(leaf.data) for leaf in leaves)
        found = autograd.grad(out, leaves, grad_outputs=[vector], retain_graph=True, allow_unused=True)
        return tuple(np.zeros_like(leaf.data) if g is None else g.data for leaf, g in zip(leaves, found))

    return out.data, vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``f``'s value at ``primals`` and its Jacobian-vector product with ``tangents``, by forward mode.

    ``primals`` and ``tangents`` are sequences of the same length, one tangent of each primal's
    shape; each op's ``jvp`` rule carries the tangents from the inputs to the output.

    >>> import chainrule as cr
    >>> cr.jvp(lambda x: x * x, ([1.0, 2.0],), ([1.0, 0.0],))
    (array([1., 4.]), array([2., 0.]))
    """
    if isinstance(primals, (Tensor, np.ndarray)) or not isinstance(primals, (list, tuple)):
        raise TypeError("jvp: primals must be a tuple or list of arguments, as in jvp(f, (x,), (t,))")
    if not isinstance(tangents, (list, tuple)) or len(tangents) != len(primals):
        raise TypeError(f"jvp: give one tangent per primal ({len(primals)}), as a tuple or list")
    _, leaves = _differentiated_arguments("jvp", tuple(primals), tuple(range(len(primals))), nested=False)
    out = _call(f, leaves, {})
    if not isinstance(out, Tensor):
        raise GraphError(f"jvp: f must return a chainrule tensor, got {type(out).__name__}")
    given = {leaf: Tensor._from_op(_as_float_array(t, leaf.data.dtype), None) for leaf, t in zip(leaves, tangents)}
    with no_grad():
        tangent_out = push_tangents(out, given)
    return out.data, tangent_out.data


# --------------------------------------------------------------------------- helpers
def _differentiated_arguments(
    op: str, args: tuple[Any, ...], positions: tuple[int, ...], nested: bool
) -> tuple[list[Any], list[Tensor]]:
    """The arguments with those at ``positions`` replaced by the tensors to differentiate with respect to.

    At the top level each is a fresh leaf holding a float copy. Inside another transformation an
    argument that carries a graph is kept connected to it, through a new node of its own.
    """
    args_list = list(args)
    leaves = []
    for position in positions:
        if not -len(args) <= position < len(args):
            raise IndexError(f"{op}: argnums {position} is out of range for {len(args)} positional arguments")
        value = args_list[position]
        if nested and isinstance(value, Tensor) and value.requires_grad:
            with enable_grad():
                leaf = ops.reshape(value, value.shape)  # the same values, a node of its own to differentiate at
        else:
            leaf = _fresh_leaf(value)
        args_list[position] = leaf
        leaves.append(leaf)
    return args_list, leaves


def _call(f: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``f(*args)`` with gradients recorded, counted as a transformation at work for the ones inside it."""
    with autograd.transforming(), enable_grad():
        return f(*args, **kwargs)


def _check_scalar(out: Any, name: str) -> None:
    if not isinstance(out, Tensor):
        raise GraphError(
            f"grad: {name} must return a scalar chainrule tensor computed from its inputs; "
            f"it returned {type(out).__name__}"
        )
    if out.size != 1:
        raise GraphError(f"grad: {name} must return a scalar; it returned shape {format_shape(out.shape)}")


def _gradients(out: Tensor, leaves: list[Tensor], create_graph: bool) -> tuple[Tensor, ...]:
    """d out / d leaf for each leaf, as tensors (zeros for a leaf out does not depend on)."""
    if not out.requires_grad:
        return tuple(Tensor._from_op(np.zeros_like(leaf.data), None) for leaf in leaves)
    found = autograd.grad(out, leaves, create_graph=create_graph, retain_graph=True, allow_unused=True)
    return tuple(Tensor._from_op(np.zeros_like(leaf.data), None) if g is None else g for leaf, g in zip(leaves, found))


def _row(out: Tensor, leaf: Tensor, index: tuple[int, ...], nested: bool) -> Any:
    """d out[index] / d leaf: one backward pass with a one-hot vector."""
    one_hot = np.zeros_like(out.data)
    one_hot[index] = 1
    (found,) = autograd.grad(
        out, [leaf], grad_outputs=[one_hot], create_graph=nested, retain_graph=True, allow_unused=True
    )
    if found is None:
        return Tensor._from_op(np.zeros_like(leaf.data), None) if nested else np.zeros_like(leaf.data)
    return found if nested else found.data


def _column(out: Tensor, leaf: Tensor, index: tuple[int, ...], nested: bool) -> Any:
    """d out / d leaf[index]: one forward-mode pass with a one-hot tangent."""
    one_hot = np.zeros_like(leaf.data)
    one_hot[index] = 1
    if nested:
        with enable_grad():
            return push_tangents(out, {leaf: Tensor._from_op(one_hot, None)})
    with no_grad():
        return push_tangents(out, {leaf: Tensor._from_op(one_hot, None)}).data


def _assemble(rows: list[Any], out_shape: tuple[int, ...], in_shape: tuple[int, ...], mode: str, nested: bool) -> Any:
    """The rows (reverse mode) or columns (forward mode) as one Jacobian of shape out_shape + in_shape."""
    if not nested:
        stacked = np.stack(rows)  # (out elements, *in_shape) or (in elements, *out_shape)
        if mode == "forward":
            stacked = np.moveaxis(stacked.reshape((-1,) + out_shape), 0, -1) if out_shape else stacked
        return stacked.reshape(out_shape + in_shape)
    with enable_grad():
        stacked = ops.stack(rows)
        if mode == "forward" and out_shape:
            flat = ops.reshape(stacked, (len(rows), -1))
            stacked = ops.transpose(flat)
        return ops.reshape(stacked, out_shape + in_shape)


def _check_argnum(op: str, argnums: Any) -> None:
    if isinstance(argnums, bool) or not isinstance(argnums, (int, np.integer)):
        raise TypeError(f"{op}: argnums must be one integer (the position of the argument), got {argnums!r}")


def _as_float_array(value: Any, dtype: np.dtype) -> np.ndarray:
    """A vector or tangent given as a tensor, an array, a list or a number, as an array of ``dtype``."""
    data = value.data if isinstance(value, Tensor) else value
    return np.array(data, dtype=dtype)


def _fresh_leaf(value: Any) -> Tensor:
    """A new leaf requiring grad with ``value``'s numbers (float64 unless already floating)."""
    data = value.data if isinstance(value, Tensor) else value
    array = np.array(data)
    if array.dtype not in FLOAT_DTYPES:
        array = array.astype(np.float64)
    return Tensor(array, requires_grad=True)
