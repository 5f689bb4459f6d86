"""Optimizers: gradient descent (plain, momentum, Nesterov), Nesterov's accelerated gradient, Adam, AdamW.

Each ``step()`` updates the parameters in place from their ``.grad``. ``state_dict()`` holds
every hyperparameter and buffer, so ``load_state_dict()`` resumes training exactly. The
learning-rate schedules are in ``chainrule.optim.lr_scheduler``.

Two forms of Nesterov momentum, side by side
--------------------------------------------
*Sutskever's look-ahead form* keeps the iterate θ and a velocity v and takes the gradient at
the look-ahead point θ + μv::

    v ← μ v − lr ∇f(θ + μ v)          θ ← θ + v

*PyTorch's reformulation* (``SGD(nesterov=True)``) stores the look-ahead point φ = θ + μv in
the parameters themselves, so the gradient is taken at the parameters as usual::

    b ← μ b + ∇f(φ)                    φ ← φ − lr (∇f(φ) + μ b)

With b = −v/lr the two produce the same sequence (φₖ = θₖ + μvₖ) for a constant μ; the tests
show it. ``NAG`` below is the accelerated method of the Iris seed: the same look-ahead with
the momentum μₖ = (tₖ − 1)/tₖ₊₁ that grows from 0 towards 1, and again the gradient is taken
at the look-ahead point q, never at p.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine import versions
from ..errors import DTypeError, ShapeError, check_flag, check_number, describe_value, format_shape, tensor_label
from ..engine.tensor import DEFAULT_DTYPE, FLOAT_DTYPES, Tensor, gradient_values

_ndarray = np.ndarray


class Optimizer:
    """Base class: holds the parameters, one state dictionary per parameter, and hyperparameters.

    Every hyperparameter is a finite, non-negative number (stored as a float) except those named
    in ``flags``, which are True or False; each mistake is reported when the optimizer is built.
    """

    flags: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], **hyperparameters: Any) -> None:
        owner = type(self).__name__
        self.params = _parameter_list(owner, params)
        self.hyperparameters = self._checked(owner, hyperparameters)
        self._where = f"{owner}.step()"  # what a refused backward names as the change (versions)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.steps = 0

    def _checked(self, owner: str, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """Every hyperparameter checked: a finite non-negative number, or True/False for a flag."""
        return {
            name: check_flag(owner, name, value) if name in self.flags else check_number(owner, name, value)
            for name, value in hyperparameters.items()
        }

    def __getattr__(self, name: str) -> Any:
        hyperparameters = self.__dict__.get("hyperparameters", {})
        if name in hyperparameters:
            return hyperparameters[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """One group holding every parameter, as a list of its hyperparameter dictionary (PyTorch's shape).

        Setting ``param_groups[0]["lr"]`` changes the learning rate of the next step; that is
        how the schedulers of ``chainrule.optim.lr_scheduler`` work.
        """
        return [self.hyperparameters]

    def zero_grad(self) -> None:
        """Clear every parameter's gradient."""
        for param in self.params:
            param.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.steps += 1
        for param, state in zip(self.params, self.state):
            if param.grad is not None:
                self.update(param.data, self._gradient(param), state)
        self._stamp()

    def _gradient(self, param: Tensor) -> np.ndarray:
        """``param.grad`` as an array of the parameter's shape, or a one-line error naming the parameter.

        A ``.grad`` set by hand to another shape would be broadcast by the update: a (1,) or (3,)
        ``.grad`` spread over every row of a (2, 3) weight, silently. PyTorch refuses such a ``.grad``; so does this.
        """
        grad = gradient_values(param.grad)
        if grad.shape != param.data.shape:
            position = next(index for index, each in enumerate(self.params) if each is param)
            raise ShapeError(
                f"{type(self).__name__}.step: parameter {position} ({tensor_label(param, 'a tensor')}) has a .grad "
                f"of shape {format_shape(grad.shape)}, not the parameter's shape {format_shape(param.data.shape)}; "
                "set .grad to an array of the parameter's shape, or to None"
            )
        return grad

    def _stamp(self) -> None:
        """Stamp the parameters as changed in place: a graph recorded before this step cannot run backward."""
        versions.stamp(*[param.data for param in self.params], where=self._where)

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: hyperparameters, step count and per-parameter buffers (copied)."""
        return {
            "type": type(self).__name__,
            "hyperparameters": dict(self.hyperparameters),
            "steps": self.steps,
            "state": [
                {key: np.copy(value) if isinstance(value, np.ndarray) else value for key, value in s.items()}
                for s in self.state
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("type") != type(self).__name__:
            raise ValueError(
                f"load_state_dict: state of a {state.get('type')} optimizer given to {type(self).__name__}"
            )
        if len(state["state"]) != len(self.params):
            raise ValueError(
                f"load_state_dict: state for {len(state['state'])} parameters, optimizer has {len(self.params)}"
            )
        if set(state["hyperparameters"]) != set(self.hyperparameters):
            raise ValueError(
                f"load_state_dict: the state's hyperparameters {sorted(state['hyperparameters'])} are not "
                f"{type(self).__name__}'s {sorted(self.hyperparameters)}"
            )
        for position, (param, buffers) in enumerate(zip(self.params, state["state"])):
            for key, value in buffers.items():  # a buffer of another shape would be broadcast by the next step
                if isinstance(value, np.ndarray) and value.shape != param.data.shape:
                    raise ShapeError(
                        f"load_state_dict: the state's {key!r} of parameter {position} has shape "
                        f"{format_shape(value.shape)}, the parameter {format_shape(param.data.shape)}; "
                        "was the state saved from another model?"
                    )
        self.hyperparameters = self._checked("load_state_dict", dict(state["hyperparameters"]))
        self.steps = int(state["steps"])
        self.state = [
            {key: np.copy(value) if isinstance(value, np.ndarray) else value for key, value in s.items()}
            for s in state["state"]
        ]

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value}" for key, value in self.hyperparameters.items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Gradient descent with optional momentum, Nesterov momentum and weight decay (PyTorch's rules).

    ::

        g ← ∇ + weight_decay·p
        b ← g (first step), then b ← μ b + g        (when momentum μ > 0)
        g ← g + μ b (nesterov)  or  g ← b            (when momentum μ > 0)
        p ← p − lr·g

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w.data
    array([ 0.8, -1.6])
    """

    flags = ("nesterov",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        if self.hyperparameters["nesterov"] and self.hyperparameters["momentum"] <= 0:
            raise ValueError("SGD: nesterov=True needs a momentum greater than 0")

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        settings = self.hyperparameters  # one dictionary read each, not four trips through __getattr__
        lr, momentum, weight_decay = settings["lr"], settings["momentum"], settings["weight_decay"]
        if weight_decay:
            grad = grad + weight_decay * value
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buffer *= momentum
                buffer += grad
            grad = grad + momentum * buffer if settings["nesterov"] else buffer
        _descend(value, lr, grad)

    def step(self) -> None:
        """Update every parameter that has a gradient (plain gradient descent without per-parameter state)."""
        settings = self.hyperparameters
        if settings["momentum"] or settings["weight_decay"]:
            return super().step()
        self.steps += 1
        lr = settings["lr"]
        for param in self.params:
            grad = param.grad
            if grad is not None:  # _gradient, inline for an array of the parameter's dtype and shape: a call
                value = param.data  # per parameter was 2% of the scalar network's step
                fits = type(grad) is _ndarray and grad.dtype is value.dtype and grad.shape == value.shape
                _descend(value, lr, grad if fits else self._gradient(param))
        self._stamp()
        return None


def _parameter_list(owner: str, params: Any) -> list[Tensor]:
    """The tensors to optimize as a list: each a distinct leaf tensor of a float dtype that requires grad."""
    if isinstance(params, Tensor):
        raise TypeError(f"{owner}: pass a list of tensors, e.g. {owner}([w], ...), not a single tensor")
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"{owner}: got the model itself (a {type(params).__name__}); pass model.parameters()")
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(
            f"{owner}: params must be a list of tensors such as model.parameters(), got {describe_value(params)}"
        )
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: got no parameters to optimize")
    first_position: dict[int, int] = {}
    for position, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"{owner}: parameter {position} is {describe_value(param)}, not a chainrule tensor")
        if not param.requires_grad:
            raise TypeError(
                f"{owner}: parameter {position} is not a tensor with requires_grad=True; "
                "create it with requires_grad=True, or leave it out"
            )
        if not param.is_leaf:
            raise TypeError(
                f"{owner}: parameter {position} was computed by an op, so backward gives it no .grad; "
                "optimize the leaf tensors it was computed from"
            )
        if param.dtype not in FLOAT_DTYPES:
            raise DTypeError(f"{owner}: parameter {position} has dtype {param.dtype}")
        if id(param) in first_position:
            raise ValueError(
                f"{owner}: parameter {position} is the same tensor as parameter {first_position[id(param)]}; "
                "list each parameter once"
            )
        first_position[id(param)] = position
    return params


def _descend(value: np.ndarray, lr: float, grad: np.ndarray) -> None:
    """value ← value − lr·grad, in place."""
    if value.ndim == 0:  # one number: the same arithmetic, but NumPy's in-place operators are 8× slower on 0-d
        if (
            value.dtype is DEFAULT_DTYPE and grad.dtype is DEFAULT_DTYPE and type(lr) is float
        ):  # Python floats: 3× quicker
            value[()] = value.item() - lr * grad.item()
        else:
            value[()] = value[()] - lr * grad[()]
    else:
        value -= lr * grad


GD = SGD  # full-batch gradient descent is SGD on the whole data set


class NAG(Optimizer):
    """Nesterov's accelerated gradient in the form of the Iris seed (the FISTA sequence).

    With t₁ = 1, tₖ₊₁ = (1 + √(1 + 4tₖ²))/2, the point p and the previous point p₋::

        q  = p + ((tₖ − 1)/tₖ₊₁)(p − p₋)       the look-ahead point
        p₋ ← p;  p ← q − lr ∇f(q)              the gradient is taken at q

    Between steps the parameters hold the look-ahead point q, so that the next forward and
    backward pass evaluate ∇f(q), as the method requires (the seed report's bug was taking it
    at p). ``iterate(i)`` gives p for parameter i.

    >>> import chainrule as cr
    >>> w = cr.tensor([4.0], requires_grad=True)
    >>> opt = NAG([w], lr=0.1)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> opt.iterate(0), w  # p₃ = q₂ − 0.1·2q₂ and the look-ahead q₃ the next gradient is taken at
    (array([2.37967774]), tensor([2.02362279], requires_grad=True))
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        super().__init__(params, lr=lr)
        self.t = 1.0
        for param, state in zip(self.params, self.state):
            state["point"] = param.data.copy()  # p

    def step(self) -> None:
        self.steps += 1
        t_next = (1 + math.sqrt(1 + 4 * self.t * self.t)) / 2
        t_after = (1 + math.sqrt(1 + 4 * t_next * t_next)) / 2
        coefficient = (t_next - 1) / t_after  # momentum of the next look-ahead
        lr = self.hyperparameters["lr"]
        for param, state in zip(self.params, self.state):
            if param.grad is None:
                continue
            previous = state["point"]
            point = param.data - lr * self._gradient(param)  # p ← q − lr ∇f(q)
            param.data[...] = point + coefficient * (point - previous)  # the next q
            state["point"] = point
        self.t = t_next
        self._stamp()

    def iterate(self, index: int) -> np.ndarray:
        """The current point p of parameter ``index`` (the parameters themselves hold q)."""
        return self.state[index]["point"]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["t"] = self.t
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.t = float(state["t"])


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's arithmetic::

    m ← β₁m + (1 − β₁)g        v ← β₂v + (1 − β₂)g²
    v̂ ← max(v̂, v) with amsgrad=True (Reddi et al.), else v̂ = v
    p ← p − (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    ``weight_decay`` (default 0) adds weight_decay·p to the gradient (L2 regularisation);
    ``AdamW`` decays the weights directly instead.
    """

    flags = ("amsgrad",)
    decoupled = False  # AdamW: p ← p(1 − lr·weight_decay) before the step, the gradient left alone
    default_weight_decay = 0.0  # PyTorch's: 0 for Adam, 0.01 for AdamW

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
        amsgrad: bool = False,
    ) -> None:
        owner = type(self).__name__
        if weight_decay is None:
            weight_decay = self.default_weight_decay
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{owner}: betas must be a pair of numbers (beta1, beta2), got {describe_value(betas)}")
        super().__init__(
            params, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
        if not (self.hyperparameters["beta1"] < 1 and self.hyperparameters["beta2"] < 1):
            raise ValueError(f"{owner}: betas must lie in [0, 1), got {tuple(betas)}")

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        settings = self.hyperparameters  # dictionary reads, not trips through __getattr__
        lr, beta1, beta2, weight_decay = settings["lr"], settings["beta1"], settings["beta2"], settings["weight_decay"]
        if weight_decay:
            if self.decoupled:
                value *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * value
        if "step" not in state:
            state["step"], state["m"], state["v"] = 0, np.zeros_like(value), np.zeros_like(value)
        state["step"] += 1
        m, v, step = state["m"], state["v"], state["step"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if settings["amsgrad"]:  # the largest v so far (from zeros, as PyTorch starts it)
            if "v_max" not in state:
                state["v_max"] = np.zeros_like(value)
            v = np.maximum(state["v_max"], v, out=state["v_max"])
        step_size = lr / (1 - beta1**step)
        denominator = np.sqrt(v) / math.sqrt(1 - beta2**step) + settings["eps"]
        value -= step_size * (m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's defaults (weight_decay 0.01) and arithmetic::

    p ← p (1 − lr·weight_decay), then Adam's step with the gradient as it is

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward(); opt.step(); w.data  # shrunk by 5%, then moved 0.1 against the gradient
    array([ 0.85, -1.8 ])
    """

    decoupled = True
    default_weight_decay = 1e-2


from . import lr_scheduler as lr_scheduler  # noqa: E402 - the schedules build on Optimizer above
