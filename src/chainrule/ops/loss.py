"""Loss functions, each fused into one op with its own stable gradient.

``reduction`` is ``"mean"`` (the default), ``"sum"`` or ``"none"`` (one loss per sample). The
mean of an empty batch is a ShapeError saying what was empty, never 0 (PyTorch gives nan); its
sum is 0. Values are the exact ones rounded for every finite input (inf only for a loss beyond
the largest float), and nothing warns.
"""

from __future__ import annotations

import math

from typing import Any

import numpy as np

from ..errors import DTypeError, ShapeError, describe_value, format_shape
from ..engine.function import Function, named
from ..engine.tensor import Tensor
from .activation import LogSoftmax, Sigmoid, Softmax, stable_sigmoid
from .elementwise import log
from .selection import clip, maximum

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:  # a tensor here: torch's weight argument
        shown = repr(reduction) if isinstance(reduction, str) else describe_value(reduction)
        raise ValueError(f"{op}: reduction must be one of {', '.join(REDUCTIONS)}; got {shown}")


def _reduce(
    op: Function, per_sample: np.ndarray, reduction: str, input_name: str, input_shape: tuple, quiet: bool = False
) -> np.ndarray:
    """Apply ``reduction`` and remember the factor d(result)/d(per-sample loss).

    The mean of an empty batch is an error naming the empty input (PyTorch gives nan): never 0.
    """
    op.reduction, op.count = reduction, per_sample.size
    if reduction == "mean":
        if not per_sample.size:
            raise ShapeError(
                f"{op.name}: the batch is empty ({input_name} of shape {format_shape(input_shape)}): "
                "the mean of no losses is undefined (reduction='sum' gives 0)"
            )
        return (_total_of if quiet else _total)(per_sample, per_sample.size)
    if reduction == "sum":
        return (_total_of if quiet else _total)(per_sample, 1)
    return per_sample


def _total_of(per_sample: np.ndarray, count: int) -> np.ndarray:
    """Σ per_sample / count, silently; Σ (per_sample / count) where the sum passes the largest float.

    np.add.reduce then divide: what np.mean does, without its overhead. A sum beyond the largest
    float is inf, the exact value rounded.
    """
    total = per_sample.sum()
    if count == 1:
        return total
    if math.isinf(total) and np.isfinite(per_sample).all():  # rare: losses near 1e308 (math: 20 ns, np: 500)
        return (per_sample / count).sum()
    return total / count


# as a decorator np.errstate costs about half of what a with-block does (0.6 µs); quiet=True in _reduce
# skips it for a caller already inside one (cross_entropy's forward: one errstate instead of two)
_total = np.errstate(over="ignore")(_total_of)


def _reduced(op: Function, per_sample: Tensor) -> Tensor:
    """``_reduce`` with chainrule ops: a tangent per sample summed, averaged or kept as the op's reduction says."""
    if op.reduction == "mean":
        return per_sample.sum() / op.count
    return per_sample.sum() if op.reduction == "sum" else per_sample


def _expand(op: Function, grad_out: np.ndarray) -> np.ndarray:
    """The gradient with respect to each per-sample loss."""
    if op.reduction == "mean":
        return grad_out / op.count
    return grad_out


def _same_shape(op: str, prediction: np.ndarray, target: np.ndarray) -> None:
    if prediction.shape != target.shape:
        raise ShapeError(
            f"{op}: prediction has shape {format_shape(prediction.shape)} but target has shape "
            f"{format_shape(target.shape)}; they must match (no silent broadcasting in a loss)"
        )


class SquaredNorm(Function):
    """d/dw ‖w‖² = 2w"""

    name = "squared_norm"

    def formula(self, names):
        axis = self.options.get("axis")
        return f"‖{names[0]}‖²" + ("" if axis is None else f" along axis {axis}")

    def forward(self, w, axis, keepdims):
        self.w, self.axis = w, axis
        if axis is None and not keepdims and w.dtype == np.float64:
            # One BLAS dot product: twice as quick as (w * w).sum() and no temporary. Not for float32
            # or float16, whose BLAS accumulates in their own precision, less accurately than sum.
            return np.vdot(w, w)
        return (w * w).sum(axis=axis, keepdims=keepdims)  # the method: less overhead than np.sum

    def backward(self, grad_out):
        if self.axis is not None:
            grad_out = np.expand_dims(grad_out, self.axis) if grad_out.ndim < self.w.ndim else grad_out
        return (grad_out + grad_out) * self.w  # 2·grad_out exactly, without NumPy's slow path for a Python 2

    def vjp(self, grad_out, w):
        if self.axis is not None and grad_out.ndim < w.ndim:  # put the summed axis back
            kept = list(w.shape)
            kept[self.axis] = 1
            grad_out = grad_out.reshape(tuple(kept))
        return (grad_out + grad_out) * w

    def jvp(self, tangents, w):
        return (w * tangents[0]).sum(axis=self.axis, keepdims=self.options["keepdims"]) * 2


class MSE(Function):
    """d/dp mean((p − t)²) = 2(p − t)/n, d/dt = −2(p − t)/n"""

    template = "mse({0}, {1})"

    name = "mse"

    def forward(self, prediction, target, reduction):
        _same_shape("mse", prediction, target)
        self.diff = prediction - target
        return _reduce(self, self.diff * self.diff, reduction, "prediction", prediction.shape)

    def backward(self, grad_out):
        grad = 2 * self.diff * _expand(self, grad_out)
        return grad, (-grad if self.needs_input_grad[1] else None)

    def vjp(self, grad_out, prediction, target):
        grad = (prediction - target) * 2 * _expand(self, grad_out)
        needs_prediction, needs_target = self.needs_input_grad
        return (grad if needs_prediction else None), (-grad if needs_target else None)

    def jvp(self, tangents, prediction, target):
        return _reduced(self, (prediction - target) * 2 * (tangents[0] - tangents[1]))


class CrossEntropy(Function):
    """d/dz −Σ t log softmax(z) = softmax(z) − t (t one-hot or probabilities summing to 1)

    Classes lie along the last axis of the logits; the target is either integer labels (one
    per sample) or a same-shaped array of probabilities (one-hot included).
    """

    template = "cross_entropy({0}, {1})"

    name = "cross_entropy"

    @np.errstate(over="ignore")  # logits − top and the mean, silent at ±1e308 (one errstate for both)
    def forward(self, logits, target, reduction):
        if logits.ndim == 0:
            raise ShapeError("cross_entropy: logits need a class axis; got a scalar")
        classes = logits.shape[-1]
        if classes == 0:
            raise ShapeError(f"cross_entropy: logits of shape {format_shape(logits.shape)} have no classes")
        labelled = target.dtype.kind in "iub" and target.shape != logits.shape  # labels, not (one-hot) rows
        top = _row_maxima(logits) if labelled else logits.max(axis=-1, keepdims=True)
        shifted = logits - top  # log softmax = shifted − log Σ exp(shifted); −inf beyond the float range
        self.exp = np.exp(shifted)
        self.total = _row_sums(self.exp)
        log_total = np.log(self.total)
        if target.dtype.kind in "iub" and target.shape == logits.shape:
            target = target.astype(logits.dtype)  # a one-hot array written with integers
        if target.dtype.kind in "iub":
            if target.shape != logits.shape[:-1]:
                raise ShapeError(
                    f"cross_entropy: labels have shape {format_shape(target.shape)} but logits "
                    f"{format_shape(logits.shape)} need one label per row, shape {format_shape(logits.shape[:-1])}"
                )
            self.labels, self.target = _label_positions(target, logits.shape), None
            per_sample = log_total[..., 0] - shifted.reshape(-1)[self.labels]
        else:
            if target.shape != logits.shape:
                raise ShapeError(
                    f"cross_entropy: target probabilities have shape {format_shape(target.shape)} "
                    f"but logits have shape {format_shape(logits.shape)}; pass integer labels or a same-shaped array"
                )
            self.labels, self.target = None, target
            self.log_probabilities = shifted - log_total
            per_sample = -_entropy_terms(target, self.log_probabilities, logits, top, log_total).sum(axis=-1)
        result = _reduce(self, per_sample, reduction, "logits", logits.shape, quiet=True)
        if reduction == "mean" and math.isinf(result) and np.isfinite(logits).all():  # rare: logits 1e308 apart
            return _mean_scaled_first(logits, top, log_total, self.labels, target, per_sample.size)
        return result

    def backward(self, grad_out):
        grad = _expand(self, grad_out)
        if self.reduction == "none":
            grad = grad[..., np.newaxis]  # one gradient per row
        probabilities = np.divide(self.exp, self.total, order="C")  # C order: the label positions index it
        if self.labels is not None:
            probabilities.reshape(-1)[self.labels] -= 1  # softmax − one-hot (reshape: a view of a C-ordered array)
            probabilities *= grad
            return probabilities, None
        grad_logits = grad * (probabilities * self.target.sum(axis=-1, keepdims=True) - self.target)
        grad_target = -grad * self.log_probabilities if self.needs_input_grad[1] else None
        return grad_logits, grad_target

    def vjp(self, grad_out, logits, target):
        grad = _expand(self, grad_out)
        if self.reduction == "none":
            grad = grad.reshape(grad.shape + (1,))  # one gradient per row
        probabilities = Softmax.apply(logits, axis=-1)
        if self.labels is not None:
            return (probabilities - self._one_hot(logits.dtype)) * grad, None
        needs_logits, needs_target = self.needs_input_grad
        target = self._probabilities(target)
        grad_logits = grad * (probabilities * target.sum(axis=-1, keepdims=True) - target) if needs_logits else None
        grad_target = -grad * LogSoftmax.apply(logits, axis=-1) if needs_target else None
        return grad_logits, grad_target

    def jvp(self, tangents, logits, target):
        tangent_logits, tangent_target = tangents
        probabilities = Softmax.apply(logits, axis=-1)
        if self.labels is not None:
            return _reduced(self, ((probabilities - self._one_hot(logits.dtype)) * tangent_logits).sum(axis=-1))
        # d log softmax(z) = dz − Σ softmax(z) dz; the target's own tangent only where it can vary (floats)
        moved = tangent_logits - (probabilities * tangent_logits).sum(axis=-1, keepdims=True)
        per_row = self._probabilities(target) * moved
        if target.dtype.kind == "f":
            per_row = per_row + tangent_target * LogSoftmax.apply(logits, axis=-1)
        return _reduced(self, -per_row.sum(axis=-1))

    def _one_hot(self, dtype: np.dtype) -> np.ndarray:
        """1 at each row's label, 0 elsewhere (a constant array of the logits' shape)."""
        one_hot = np.zeros(self.exp.shape, dtype)
        one_hot.reshape(-1)[self.labels] = 1
        return one_hot

    def _probabilities(self, target: Tensor) -> Tensor | np.ndarray:
        """The target probabilities: the tensor itself when floats, else the one-hot integers as floats (constants)."""
        return target if target.dtype.kind == "f" else self.target


@np.errstate(over="ignore", invalid="ignore")  # 0 · (−inf) and overflows are computed, then replaced
def _entropy_terms(target, log_probabilities, logits, top, log_total) -> np.ndarray:
    """t · log p, log p = logits − top − log_total, right wherever it is a float.

    Where t = 0 the term is 0 (0 · log 0 = 0), even if log p is −inf. Where log p fell below the
    float range (a logit 2e308 below the top one) but t · log p need not (t = ½: −1e308), the term
    is recomputed as t·x − t·top − t·log_total, whose parts are all floats.
    """
    terms = target * log_probabilities
    np.copyto(terms, 0, where=target == 0)
    if np.isinf(terms).any():  # rare: only for logits further apart than the largest float, or infinite
        overflowed = np.isinf(terms) & np.isfinite(logits)
        np.copyto(terms, target * logits - target * top - target * log_total, where=overflowed)
    return terms


@np.errstate(over="ignore", invalid="ignore")
def _mean_scaled_first(logits, top, log_total, labels, target, count) -> np.ndarray:
    """The mean loss when a sample's loss passed the largest float but the mean need not (2e308 and 0 → 1e308).

    loss_i = Σ_j t_ij (top_i + log Σ_i − x_ij): each part divided by the count before it is added.
    """
    scaled = (top + log_total) / count - logits / count
    terms = scaled.reshape(-1)[labels] if labels is not None else np.where(target == 0, 0.0, target * scaled)
    return np.asarray(terms.sum(), dtype=logits.dtype)


def _row_maxima(logits: np.ndarray) -> np.ndarray:
    """Each row's largest logit (keepdims), for labelled cross-entropy: column by column for a few classes.

    NumPy's max along a short last axis takes 6.4 µs for 150 rows of 3 classes, ``np.maximum`` of the
    columns 1.45 µs (Iris step: 89.4 -> 85.8 µs). Both give the larger number and nan for a row with a nan;
    where the largest is a zero they may disagree on its sign, which does not reach a labelled loss or
    its gradient: it can only flip the sign of a zero in ``logits − top``, whose exponential is 1
    either way and which is subtracted from log Σ exp ≥ 0 (0 − (−0) = 0 − 0 = 0).
    """
    if logits.ndim != 2 or not 2 <= logits.shape[1] <= 8:
        return logits.max(axis=-1, keepdims=True)
    top = np.maximum(logits[:, 0], logits[:, 1])
    for column in range(2, logits.shape[1]):  # at most six more columns, each a vectorised pass
        np.maximum(top, logits[:, column], out=top)
    return top[:, np.newaxis]


def _row_sums(exponentials: np.ndarray) -> np.ndarray:
    """Σ along each row (keepdims), column by column for at most 7 classes: the same sums in the same order.

    NumPy sums fewer than 8 numbers one after the other from 0 (its pairwise summation starts at 8),
    so ((e₀ + e₁) + e₂)… column by column is the same sum, bit for bit, for numbers ≥ 0 (exponentials):
    2.2 µs instead of 4.3 µs for Iris's 150×3 (step 85.4 -> 84.2 µs). Not for float16, which NumPy's sum
    adds in float32 and rounds once.
    """
    if exponentials.ndim != 2 or not 2 <= exponentials.shape[1] <= 7 or exponentials.dtype == np.float16:
        return exponentials.sum(axis=-1, keepdims=True)
    total = exponentials[:, 0] + exponentials[:, 1]
    for column in range(2, exponentials.shape[1]):
        total += exponentials[:, column]
    return total[:, np.newaxis]


def _label_positions(target: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where each row's label (integers of any kind) sits among the logits of ``shape`` read in C order.

    One ``np.ravel_multi_index`` gives the positions and refuses any label that is not a class (below 0
    or from ``classes`` on); it replaces a max over the labels for that check, the (rows, labels) index
    and the indexing by two arrays, and picks the same numbers (Iris: cross_entropy forward 14.0 -> 13.3 µs,
    backward 5.4 -> 3.7 µs; the step 83.3 -> 79.8 µs).
    """
    classes = shape[-1]
    labels = target.astype(np.intp, copy=False)  # a uint64 label from 2**63 on wraps to a negative one: refused
    if labels.ndim == 1:
        rows: tuple[np.ndarray, ...] = (np.arange(labels.shape[0]),)
    else:
        rows = np.indices(labels.shape, sparse=True) if labels.ndim else ()
    try:
        return np.ravel_multi_index((*rows, labels), shape)
    except ValueError:  # a label out of range (the rows never are)
        bad = target[(labels < 0) | (labels >= classes)].flat[0]  # as given, not as wrapped
        raise ValueError(
            f"cross_entropy: label {bad} is out of range for {classes} classes (0 to {classes - 1})"
        ) from None


class BinaryCrossEntropy(Function):
    """d/dp −[t log p + (1−t) log(1−p)] = (p − t) / (p(1 − p)); from logits z: σ(z) − t"""

    template = "binary_cross_entropy({0}, {1})"

    name = "binary_cross_entropy"

    def forward(self, x, target, reduction, from_logits):
        _same_shape("binary_cross_entropy", x, target)
        self.x, self.target, self.from_logits = x, target, from_logits
        if from_logits:  # max(z, 0) − z·t + log(1 + e^(−|z|))
            per_element = np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))
        else:
            if x.size and (x.min() < 0 or x.max() > 1):
                raise ValueError(
                    "binary_cross_entropy: predictions must be probabilities in [0, 1]; "
                    "pass from_logits=True for raw scores"
                )
            with np.errstate(divide="ignore"):  # log 0 = −inf, clamped to −100 as in PyTorch
                log_p = np.maximum(np.log(x), -100)
                log_not_p = np.maximum(np.log1p(-x), -100)
            self.log_p, self.log_not_p = log_p, log_not_p
            per_element = -(target * log_p + (1 - target) * log_not_p)
        return _reduce(self, per_element, reduction, "prediction", x.shape)

    def backward(self, grad_out):
        grad = _expand(self, grad_out)
        x, target = self.x, self.target
        if self.from_logits:
            grad_x = grad * (stable_sigmoid(x) - target)
            grad_target = -grad * x
        else:
            grad_x = grad * (x - target) / np.maximum(x * (1 - x), 1e-12)
            grad_target = -grad * (self.log_p - self.log_not_p)
        return grad_x, (grad_target if self.needs_input_grad[1] else None)

    def vjp(self, grad_out, x, target):
        grad = _expand(self, grad_out)
        slope_x, slope_target = self._slopes(x, target)
        needs_x, needs_target = self.needs_input_grad
        return (grad * slope_x if needs_x else None), (grad * slope_target if needs_target else None)

    def jvp(self, tangents, x, target):
        slope_x, slope_target = self._slopes(x, target)
        return _reduced(self, tangents[0] * slope_x + tangents[1] * slope_target)

    @np.errstate(divide="ignore")  # log 0 = −inf, clamped to −100 as in the forward
    def _slopes(self, x: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """d(loss per element)/dx and d/dtarget, with a graph: backward's rules written with ops."""
        if self.from_logits:
            return Sigmoid.apply(x) - target, -x
        log_p, log_not_p = clip(log(x), min=-100.0), clip(log(1 - x), min=-100.0)
        return (x - target) / maximum(x * (1 - x), 1e-12), log_not_p - log_p


# ------------------------------------------------------------------------- public functions
def squared_norm(w: Any, axis: int | None = None, keepdims: bool = False, name: str | None = None) -> Tensor:
    """‖w‖² = Σ w², over all elements or along ``axis`` (one norm per row with axis=-1).

    >>> import chainrule as cr
    >>> cr.squared_norm(cr.tensor([3.0, 4.0]))
    tensor(25.)
    """
    return named(SquaredNorm.apply(w, axis=axis, keepdims=keepdims), name)


def mse(prediction: Any, target: Any, reduction: str = "mean", name: str | None = None) -> Tensor:
    """Mean squared error mean((prediction − target)²); the shapes must match exactly.

    An empty batch with ``reduction="mean"`` is a ShapeError (the mean of no losses is undefined).
    """
    _check_reduction("mse", reduction)
    return named(MSE.apply(prediction, target, reduction=reduction), name)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean", name: str | None = None) -> Tensor:
    """Softmax cross-entropy from raw scores (logits), classes along the last axis.

    ``target`` holds integer class labels (shape ``logits.shape[:-1]``) or probabilities
    (one-hot included) of the logits' shape. Stable for logits of any size: a probability of 0
    adds nothing even where its class's logit is 1e308 below the others. An empty batch with
    ``reduction="mean"`` is a ShapeError (the mean of no losses is undefined).

    >>> import chainrule as cr
    >>> logits = cr.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    >>> round(cr.cross_entropy(logits, [0]).item(), 4)
    0.1698
    """
    _check_reduction("cross_entropy", reduction)
    if isinstance(target, Tensor):
        target_data = target
    else:
        target_data = np.asarray(target)
        if target_data.dtype.kind not in "iubf":
            raise DTypeError(
                f"cross_entropy: target must be integer labels or probabilities, got dtype {target_data.dtype}"
            )
    return named(CrossEntropy.apply(logits, target_data, reduction=reduction), name)


def binary_cross_entropy(
    prediction: Any, target: Any, reduction: str = "mean", from_logits: bool = False, name: str | None = None
) -> Tensor:
    """−[t log p + (1 − t) log(1 − p)] for probabilities p (or logits with ``from_logits=True``).

    Logs are clamped at −100 as in PyTorch, so p = 0 or 1 gives a large finite loss. An empty
    batch with ``reduction="mean"`` is a ShapeError (the mean of no losses is undefined).
    """
    _check_reduction("binary_cross_entropy", reduction)
    return named(BinaryCrossEntropy.apply(prediction, target, reduction=reduction, from_logits=from_logits), name)
