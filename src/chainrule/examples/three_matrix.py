"""The three-matrix network: y = xA, u = σ(y), v = xB, z = u + v, w = zC, L = ‖w‖².

The seed report wrote vectors as rows (``y = x @ A``); the column convention (``y = A @ x``)
is the same network with every matrix transposed, so its gradients are the transposes.
``SEED_*`` hold the report's published numbers; ``chainrule demo abc`` reproduces them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import chainrule as cr
from chainrule import data

SEED_X = np.array([0.8311474366942035, 0.8439379477805831, 0.8388421326877166])
SEED_A = np.array(
    [
        [0.25129816473730215, 0.45937691785148405, 0.8846707302565932],
        [0.6881257902175721, 0.4289543556188269, 0.1266690829131678],
        [0.7904021199234799, 0.2987045256966764, 0.931388707459593],
    ]
)
SEED_B = np.array(
    [
        [0.16394946490626883, 0.6448089772297525, 0.21880857546460808],
        [0.6799780955590629, 0.11349175428867442, 0.5273784554376459],
        [0.8979181883772658, 0.6031537907940281, 0.41638580170599393],
    ]
)
SEED_C = np.array(
    [
        [0.6999395243144166, 0.6208118228563083, 0.8931884731417817],
        [0.8199629213367873, 0.891376816624735, 0.45207900447394345],
        [0.0552324942671899, 0.5511150479258549, 0.693654765988074],
    ]
)
SEED_LOSS = 44.061213140343526
SEED_GRAD_A = np.array(
    [
        [2.164841106297983, 2.6681140650967543, 1.2098228357464476],
        [2.1981558022807874, 2.7091736184596087, 1.2284407748869652],
        [2.1848830308131784, 2.69281525010984, 1.2210232780700203],
    ]
)
SEED_GRAD_B = np.array(
    [
        [14.089372084700397, 13.535386460481702, 8.792896243733097],
        [14.306193146636476, 13.743682248855672, 8.928209946118045],
        [14.21981035611282, 13.660695977626299, 8.87430016860969],
    ]
)
SEED_GRAD_C = np.array(
    [
        [14.65610661598256, 18.529402674179796, 18.78898960873385],
        [12.038309499435838, 15.219777671936383, 15.432998545805004],
        [11.676555948682925, 14.762420381467074, 14.969233926447846],
    ]
)


def outputs_rows(x: cr.Tensor, A: cr.Tensor, B: cr.Tensor, C: cr.Tensor) -> cr.Tensor:
    """w = (σ(xA) + xB)C with row vectors: one sample (3,) or a batch (N, 3), one row of w per sample."""
    y = x @ A
    u = cr.sigmoid(y)
    v = x @ B
    z = u + v
    return z @ C


def loss_rows(x: cr.Tensor, A: cr.Tensor, B: cr.Tensor, C: cr.Tensor) -> cr.Tensor:
    """L = ‖w‖² with row vectors; x may be one sample (3,) or a batch (N, 3), giving the mean."""
    w = outputs_rows(x, A, B, C)
    if w.ndim == 1:
        return (w * w).sum()
    return cr.squared_norm(w) / w.shape[0]


def loss_columns(x: cr.Tensor, A: cr.Tensor, B: cr.Tensor, C: cr.Tensor) -> cr.Tensor:
    """The same network written with column vectors: y = Ax, v = Bx, w = Cz."""
    z = cr.sigmoid(A @ x) + B @ x
    w = C @ z
    return (w * w).sum()


def hand_gradients_rows(x: np.ndarray, A: np.ndarray, B: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, ...]:
    """The report's hand-derived backward pass, in NumPy (row convention, one sample).

    ∂L/∂w = 2w; ∂L/∂C = z ⊗ 2w; ∂L/∂z = C·2w; ∂L/∂B = x ⊗ ∂L/∂z; ∂L/∂A = x ⊗ (∂L/∂z ⊙ σ'(y)).
    """
    y = x @ A
    u = 1 / (1 + np.exp(-y))
    z = u + x @ B
    w = z @ C
    grad_w = 2 * w
    grad_z = C @ grad_w
    return np.outer(x, grad_z * u * (1 - u)), np.outer(x, grad_z), np.outer(z, grad_w)


def seed_gradients() -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Loss and gradients for A, B, C at the seed's x, A, B, C computed by chainrule."""
    A, B, C = (cr.tensor(m, requires_grad=True) for m in (SEED_A, SEED_B, SEED_C))
    loss = loss_rows(cr.tensor(SEED_X), A, B, C)
    loss.backward()
    return loss.item(), A.grad, B.grad, C.grad


def train(
    samples: int = 1000,
    steps: int = 100,
    lr: float = 0.01,
    seed: int = 0,
    report: Callable[[int, float], None] | None = None,
) -> tuple[list[float], tuple[np.ndarray, ...]]:
    """Batch gradient descent on ``samples`` random inputs in [0, 1)³ from the seed's weights.

    The loss is the batch mean of ‖w‖², computed for all samples at once (no loop over them).
    Returns the loss before each step plus the final loss, and the final A, B, C.
    """
    X = cr.tensor(data.three_matrix_inputs(samples, seed))
    params = [cr.tensor(m, requires_grad=True) for m in (SEED_A, SEED_B, SEED_C)]
    history = []
    for step in range(steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):  # a divergence is reported below, in one line
            loss = loss_rows(X, *params)
        if not np.isfinite(loss.item()):
            raise cr.DivergenceError(
                f"train: the loss became {loss.item()} at step {step}; lower the learning rate (--lr 0.01 converges)"
            )
        history.append(loss.item())
        if report is not None:
            report(step, history[-1])
        if step == steps:
            break
        for p in params:
            p.zero_grad()
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
    return history, tuple(p.data for p in params)


def _matrix(values: np.ndarray) -> str:
    return np.array2string(values, precision=15, separator=", ", max_line_width=120, floatmode="unique")


def demo(
    steps: int = 100,
    lr: float = 0.01,
    samples: int = 1000,
    seed: int = 0,
    echo: Callable[[str], None] = print,
    trainer: Callable[..., tuple[list[float], tuple[np.ndarray, ...]]] | None = None,
) -> float:
    """Print the seed's gradients three ways and a short training run; returns the largest difference.

    ``trainer`` replaces ``train`` (same arguments and result), e.g. the partitioned training of
    ``chainrule.distributed``.
    """
    loss, *grads = seed_gradients()
    hand = hand_gradients_rows(SEED_X, SEED_A, SEED_B, SEED_C)
    published = (SEED_GRAD_A, SEED_GRAD_B, SEED_GRAD_C)
    echo("The three-matrix network: y = xA, u = σ(y), v = xB, z = u + v, w = zC, L = ‖w‖²  (row vectors)")
    echo(f"x = {_matrix(SEED_X)}")
    echo(f"\nloss L = {loss!r}   (seed report: {SEED_LOSS!r})")
    worst = 0.0
    for name, auto, by_hand, theirs in zip("ABC", grads, hand, published):
        against_hand = float(np.max(np.abs(auto - by_hand)))
        against_seed = float(np.max(np.abs(auto - theirs)))
        worst = max(worst, against_hand, against_seed)
        echo(f"\ndL/d{name}, chainrule backward():\n{_matrix(auto)}")
        echo(f"dL/d{name}, by hand in NumPy (the report's formulas):\n{_matrix(by_hand)}")
        echo(f"largest difference: {against_hand:.3g} against the hand formulas, {against_seed:.3g} against the report")
    echo(f"\nlargest difference overall: {worst:.3g}")

    At, Bt, Ct = (cr.tensor(m.T, requires_grad=True) for m in (SEED_A, SEED_B, SEED_C))
    column_loss = loss_columns(cr.tensor(SEED_X), At, Bt, Ct)
    column_loss.backward()
    transposed = max(float(np.max(np.abs(g.grad - auto.T))) for g, auto in zip((At, Bt, Ct), grads))
    echo("\nColumn convention, y = Ax with A → Aᵀ (and B, C likewise): the same network.")
    echo(
        f"loss = {column_loss.item()!r}; each gradient is the transpose of the row one "
        f"(largest difference {transposed:.3g})"
    )
    echo(f"dL/dA (column convention):\n{_matrix(At.grad)}")

    echo(
        f"\nBatch gradient descent, lr = {lr}, N = {samples} random inputs in [0, 1)³ (seed {seed}),"
        " loss = mean ‖w‖² over the batch:"
    )
    every = max(1, steps // 10)
    history, _ = (trainer or train)(
        samples,
        steps,
        lr,
        seed,
        report=lambda step, value: (
            echo(f"  step {step:4d}   loss {value:.6f}") if step % every == 0 or step == steps else None
        ),
    )
    echo(f"loss fell from {history[0]:.4f} to {history[-1]:.4f} in {steps} steps")
    return worst
