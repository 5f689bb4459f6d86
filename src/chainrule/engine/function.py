"""``Function``: the one way ops are made, built-in and user-defined alike.

An op is a subclass with two methods side by side:

* ``forward(self, *arrays, **options)`` computes the result from NumPy arrays and may save
  on ``self`` whatever the backward needs;
* ``backward(self, grad_out)`` is the vector-Jacobian product: given dL/d(output), it returns
  dL/d(input) for each tensor input (a tuple, or one array for a one-input op; ``None`` for an
  input that needs no gradient). It may return a gradient of the *broadcast* shape: the engine
  sums it back to the input's shape (``accumulation.unbroadcast``).

``self.needs_input_grad[i]`` tells the backward which gradients are wanted, so it can skip
the others. Keyword ``options`` are constants (an axis, a slope): they never get gradients.

Two more methods make an op differentiable more than once; every built-in op has both, and a
user's op needs them only for second derivatives and forward mode:

* ``vjp(self, grad_out, *inputs)`` is ``backward`` written with chainrule ops on tensors
  (``grad_out`` and the op's input tensors), so the gradient it returns has a graph of its own
  (``create_graph=True``, ``cr.hessian``). Arrays the forward saved (a mask, indices) may be
  used as constants; ``self.options`` holds the options.
* ``jvp(self, tangents, *inputs)`` is forward mode: given one tangent tensor per input (of the
  input's shape; zeros for an input that does not vary), it returns the output's tangent,
  also written with chainrule ops (``cr.jvp``, ``cr.jacobian`` of a wide output).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> class Cube(cr.Function):
    ...     '''d/dx x³ = 3x²'''
    ...     def forward(self, x):
    ...         self.x = x
    ...         return x ** 3
    ...     def backward(self, grad_out):
    ...         return grad_out * 3 * self.x ** 2
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad
    array(12.)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import anomaly, grad_mode, observers
from .versions import creation_order as _sequence
from ..errors import ChainruleError, DTypeError, GraphError, ShapeError, format_shape
from .tensor import DEFAULT_DTYPE, FLOAT_DTYPES, Tensor, _make_tensor, _new_tensor

ndarray, asarray = np.ndarray, np.asarray
_FLOAT_DTYPE_SET = frozenset(FLOAT_DTYPES)


class Function:
    """Base class of every op: subclass it and write ``forward`` and ``backward``."""

    #: Name shown in error messages and graph printouts; defaults to the lowercase class name.
    name: str = ""
    #: How the op reads on paper: ``{0}``, ``{1}``… are the inputs' names, ``{inputs}`` all of
    #: them, other fields the op's options (``chainrule.explain`` and ``chainrule.draw`` use it).
    template: str = ""
    #: The tensors the op was applied to; None before it is applied and once backward has freed it.
    inputs: tuple[Tensor, ...] | None = None
    #: True when ``backward`` always returns one gradient per input (a bare array for a one-input
    #: op) and an array, never None, for every input that needs one, of that input's shape or of
    #: the output's shape. ``chainrule.trace`` then leaves out the checks. Every built-in op says
    #: so (the tests check each one); a user's op is checked like any other.
    exact_gradients: bool = False
    #: Forward and backward on Python floats, for ``trace``'s replays of graphs of single float64
    #: numbers (engine/scalar_replay.py): an expression in ``{0}``, ``{1}``… (the inputs) and one
    #: per input in ``{grad}`` (the result's gradient), ``{out}`` and the inputs, written as the
    #: NumPy ``forward``/``backward`` compute (same operations in the same order: same bits).
    #: None: such a graph replays with NumPy. ``scalar_rule`` may pick them by the op's options.
    scalar_forward: str | None = None
    scalar_backward: tuple[str, ...] = ()
    needs_input_grad: tuple[bool, ...]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()

    def scalar_rule(self, options: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
        """``(scalar_forward, scalar_backward)`` for these options, or None when they have no float form."""
        return None if self.scalar_forward is None else (self.scalar_forward, self.scalar_backward)

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, *arrays)")

    def backward(self, grad_out: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define backward(self, grad_out)")

    def vjp(self, grad_out: Tensor, *inputs: Tensor) -> Any:
        """``backward`` with chainrule ops: the gradients as tensors that can be differentiated again."""
        raise GraphError(
            f"{self.name}: its backward is written with NumPy arrays, so it cannot be differentiated again "
            f"(create_graph=True, hessian, gradgradcheck); give {type(self).__name__} a method "
            "vjp(self, grad_out, *inputs) computing the same gradients with chainrule ops on tensors"
        )

    def jvp(self, tangents: tuple[Tensor, ...], *inputs: Tensor) -> Tensor:
        """Forward mode: the output's tangent from one tangent tensor per input, with chainrule ops."""
        raise GraphError(
            f"{self.name}: has no forward-mode rule (jvp, jacobian by forward mode); give {type(self).__name__} "
            "a method jvp(self, tangents, *inputs) returning the output's tangent, written with chainrule ops"
        )

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run the op on ``inputs`` (tensors, arrays or numbers) and record it in the graph.

        A node is recorded only when gradients are enabled and some input requires grad;
        otherwise this is the forward computation and one Tensor allocation, nothing more.
        """
        # One and two inputs are nearly every op: unpacked by hand, without loops or comprehensions,
        # and handed to forward as plain arguments, a call Python makes quicker than forward(*arrays).
        count = len(inputs)
        if count == 2:
            a, b = inputs
            if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
                if isinstance(a, Tensor) and type(b) in (float, int):  # tensor ∘ number, without _as_tensors' loops
                    b = _number_tensor(b, a.data.dtype)
                    inputs = (a, b)
                elif isinstance(a, Tensor) and type(b) is ndarray and b.dtype.kind in "biuf":  # labels, a target: as
                    b = _make_tensor(b, None)  # _as_tensors wraps an array, without its loops (Iris step -0.8 µs)
                    inputs = (a, b)
                else:
                    inputs = _as_tensors(inputs, cls.name)
                    a, b = inputs
            needs: tuple[bool, ...] = (a.requires_grad, b.requires_grad)
        elif count == 1:
            (x,) = inputs
            if not isinstance(x, Tensor):
                inputs = _as_tensors(inputs, cls.name)
                (x,) = inputs
            needs = (x.requires_grad,)
        else:  # three or more: all tensors (a dense layer and its bias) skip _as_tensors' loops (linear 5.9 -> 5.6 µs)
            for item in inputs:
                if not isinstance(item, Tensor):
                    inputs = _as_tensors(inputs, cls.name)
                    break
            needs = tuple([t.requires_grad for t in inputs])
        node = cls()
        if observers._threads_on and observers._state.observers:  # observers.active(), inline: a global read
            return _apply_observed(node, inputs, options)
        try:
            if count == 2:
                data = node.forward(a.data, b.data, **options) if options else node.forward(a.data, b.data)
            elif count == 1:
                data = node.forward(x.data, **options) if options else node.forward(x.data)
            else:
                data = node.forward(*[t.data for t in inputs], **options)
        except ChainruleError:
            raise
        except ValueError as error:  # NumPy's shape errors come back naming the op
            raise _shape_error(node, inputs, error) from None
        out = _new_tensor(Tensor)  # what _make_tensor does, inline: this line runs for every op
        out.data = data if type(data) is ndarray else asarray(data)
        out.grad = out.name = None
        # recording is on unless this thread turned it off (grad_mode: the thread-local is read only then)
        if True in needs and (not grad_mode._threads_off or grad_mode._state.enabled):
            node.inputs = inputs
            node.needs_input_grad = needs
            node.options = options  # lets checks re-run the forward: chainrule.check
            node.sequence = next(_sequence)  # creation order: backward goes latest first
            out.requires_grad, out.grad_fn = True, node
        else:
            out.requires_grad, out.grad_fn = False, None
        return out

    def formula(self, names: Sequence[str]) -> str:
        """The op written with its inputs' names, e.g. ``σ(s1)`` or ``x1 · w1``."""
        template = self.template or self.name + "({inputs})"
        return template.format(*names, inputs=", ".join(names), **getattr(self, "options", {}))

    @classmethod
    def rule(cls) -> str:
        """The derivative rule: the first line of the op's docstring (``d/dx σ(x) = σ(x)(1 − σ(x))``)."""
        lines = (cls.__doc__ or "").strip().splitlines()
        return lines[0].strip() if lines else "(no derivative rule written in the docstring)"

    def __repr__(self) -> str:
        return f"<{self.name}>"


def named(out: Tensor, name: str | None) -> Tensor:
    """``out`` with its name set: what every op function does with its ``name=`` argument."""
    if name is not None:
        if not isinstance(name, str):  # a number or a flag in the name's place was meant as another argument
            raise TypeError(f"name= must be a string (the result's name), got {name!r:.40}")
        out.name = name
    return out


def _shape_error(node: Function, tensors: tuple[Tensor, ...], error: ValueError) -> ValueError:
    """NumPy's message about shapes, rewritten to name the op and every input's shape.

    A ValueError whose message already starts with the op's name is the op's own (``cross_entropy:
    label 4 is out of range…``): it is given back as it is, neither prefixed twice nor called a shape error.
    """
    if str(error).startswith(node.name + ":"):
        return error
    shapes = " and ".join(format_shape(t.data.shape) for t in tensors)
    if "broadcast" in str(error):
        return ShapeError(f"{node.name}: shapes {shapes} cannot be broadcast together")
    return ShapeError(f"{node.name}: {error} (input shapes {shapes})")


def _forward(node: Function, tensors: tuple[Tensor, ...], options: dict[str, Any]) -> np.ndarray:
    """``node.forward`` on the tensors' arrays, for the checked path (the same as inside ``apply``)."""
    try:
        return node.forward(*[t.data for t in tensors], **options)
    except ChainruleError:
        raise
    except ValueError as error:
        raise _shape_error(node, tensors, error) from None


def _apply_without_gradient(node: Function, tensors: tuple[Tensor, ...], options: dict[str, Any]) -> Tensor:
    """Run an op whose result never has a gradient (``detach``, comparisons) and show it to the observers.

    Such a result is computed from its inputs all the same: a recording trace must recompute it
    at each replay, not keep the recording's value.
    """
    out = _make_tensor(_forward(node, tensors, options), None)  # NumPy's shape errors named, as in apply
    if observers._threads_on and observers._state.observers:
        if observers.wants_locations():
            node.created_at = anomaly.user_location()
        observers.op_applied(node, tensors, options, out)
    return out


def _apply_observed(node: Function, tensors: tuple[Tensor, ...], options: dict[str, Any]) -> Tensor:
    """``apply`` while observers watch this thread (``engine/observers.py``): the same op, shown to each of them."""
    if observers.wants_locations():
        node.created_at = anomaly.user_location()
    if observers.quiet_numpy():  # an observer checks the values and says it better than NumPy's warnings
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            data = _forward(node, tensors, options)
    else:
        data = _forward(node, tensors, options)
    out = Tensor._from_op(data, None)
    if grad_mode.is_grad_enabled() and any(t.requires_grad for t in tensors):
        node.inputs, node.needs_input_grad, node.options = tensors, tuple(t.requires_grad for t in tensors), options
        node.sequence = next(_sequence)
        out.grad_fn, out.requires_grad = node, True
    observers.op_applied(node, tensors, options, out)
    return out


def _number_tensor(number: Any, dtype: np.dtype | None) -> Tensor:
    """A constant for a number met by a tensor of ``dtype``: that dtype when floating, else float64."""
    return _make_tensor(np.array(number, dtype if dtype in _FLOAT_DTYPE_SET else DEFAULT_DTYPE), None)


def plain_number(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (``np.float64(0.1)`` → ``0.1``); anything else as it is.

    An op's constant options (an exponent, a clip bound, a slope) pass through here. NumPy gives a
    Python number the dtype of the array it meets (float32 ** 2.5 is float32) but lets a NumPy scalar
    promote it (float32 ** np.float64(2.5) is float64); as a Python number the constant takes the
    tensor's dtype, as a number given as an input does (``_number_tensor``).
    """
    return value.item() if isinstance(value, np.generic) else value


def _as_tensors(inputs: tuple[Any, ...], op: str) -> tuple[Tensor, ...]:
    """Wrap non-tensor inputs; Python numbers take the dtype of the tensors they meet.

    ``float32_tensor * 0.5`` must stay float32, so a bare number becomes an array of the first
    floating tensor's dtype instead of float64. An input that is not numbers (a string, a dict)
    is a DTypeError naming ``op``.
    """
    dtype = None
    for item in inputs:
        if isinstance(item, Tensor) and item.data.dtype in _FLOAT_DTYPE_SET:
            dtype = item.data.dtype
            break
    converted = []
    for item in inputs:
        if isinstance(item, Tensor):
            converted.append(item)
        elif isinstance(item, (float, int, np.number, np.bool_)) and not isinstance(item, np.complexfloating):
            converted.append(_number_tensor(item, dtype))  # bool is an int
        else:  # an array, a list, or something that is not numbers at all
            converted.append(_make_tensor(_real_array(item, op, dtype), None))
    return tuple(converted)


def _real_array(item: Any, op: str, dtype: np.dtype | None) -> np.ndarray:
    """``item`` as an array of real numbers (of ``dtype`` unless it is already an array), or a DTypeError naming ``op``.

    NumPy would turn None into nan, "3" into 3.0 and drop the imaginary part of a complex
    number; each of those is refused here instead.
    """
    if isinstance(item, ndarray):
        array = item
    else:
        try:
            array = np.array(item)
        except ValueError as error:  # a ragged list
            if "inhomogeneous" not in str(error):
                raise
            raise DTypeError(
                f"{op}: input {item!r:.40} ({type(item).__name__}) is not a rectangular array: its rows have "
                "different lengths"
            ) from None
    if array.dtype.kind == "c":
        raise DTypeError(f"{op}: input {item!r:.40} is complex; chainrule tensors hold real numbers")
    if array.dtype.kind not in "biuf":
        raise DTypeError(
            f"{op}: input {item!r:.40} ({type(item).__name__}) is not numbers; pass a tensor, an array or a number"
        )
    if isinstance(item, ndarray) or dtype is None and array.dtype in _FLOAT_DTYPE_SET:
        return array
    return array.astype(dtype or DEFAULT_DTYPE)
