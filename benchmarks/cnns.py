"""Two convolutional networks, each written four ways: the digits CNN and a wider CNN on 28×28 images.

Both are conv(3×3, padding 1) → relu → max-pool 2 → conv(3×3, padding 1) → relu → max-pool 2 →
flatten → linear → cross-entropy, in PyTorch's layout (images N×C×H×W, weights O×C×kh×kw).
The hand-written NumPy step is the limit a NumPy program reaches: each convolution one BLAS
product on windows copied once (im2col from ``sliding_window_view``), activations kept as
N×H×W×C so that no layer transposes them, the pooling before the relu (the same numbers: a
maximum commutes with relu), and the input gradient of a convolution nine products by blocks
of the weight added at shifted places (col2im).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.common import Problem, Step, chainrule_ways, hand_softmax_cross_entropy, torch_stepper

KERNEL = 3


def cnn_problem(
    batch: int = 64, size: int = 8, channels: tuple[int, int] = (16, 32), seed: int = 0, dtype=np.float64
) -> Problem:
    """Images of ``size``×``size`` (one channel), labels 0–9, PyTorch's default initial weights."""
    rng = np.random.default_rng(seed)
    first, second = channels
    shapes = {
        "W0": (first, 1, KERNEL, KERNEL),
        "b0": (first,),
        "W1": (second, first, KERNEL, KERNEL),
        "b1": (second,),
        "W2": (10, second * (size // 4) ** 2),
        "b2": (10,),
    }
    fan_in = {"0": KERNEL * KERNEL, "1": first * KERNEL * KERNEL, "2": shapes["W2"][1]}
    params = {
        name: rng.uniform(-1, 1, shape).astype(dtype) / np.sqrt(fan_in[name[1]]).astype(dtype)
        for name, shape in shapes.items()
    }
    inputs = rng.normal(size=(batch, 1, size, size)).astype(dtype)
    return Problem(inputs, rng.integers(0, 10, batch), params, 0.01)


def digits_problem() -> Problem:
    """The digits CNN's training step: 64 of the real digits, standardised, float64."""
    from chainrule import data

    digits = data.load_digits()
    problem = cnn_problem(batch=64, size=8, channels=(16, 32))
    images = digits.features[:64]
    return Problem((images - images.mean()) / images.std(), digits.labels[:64].copy(), problem.params, problem.lr)


def wide_problem() -> Problem:
    return cnn_problem(batch=64, size=28, channels=(32, 64), dtype=np.float32)


# --------------------------------------------------------------------------- chainrule
def cnn_model(problem: Problem) -> tuple:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    W0, b0, W1, b1, W2, b2 = (params[name] for name in ("W0", "b0", "W1", "b1", "W2", "b2"))

    def loss_fn(x, labels):
        h = cr.max_pool2d(cr.relu(cr.conv2d(x, W0, b0, padding=1)), 2)
        h = cr.max_pool2d(cr.relu(cr.conv2d(h, W1, b1, padding=1)), 2)
        return cr.cross_entropy(cr.linear(cr.reshape(h, (len(labels), -1)), W2, b2), labels)

    return loss_fn, params, (cr.tensor(problem.inputs), problem.targets)


cnn_chainrule, cnn_traced = chainrule_ways(cnn_model)


# --------------------------------------------------------------------------- PyTorch
def cnn_torch(problem: Problem) -> Step:
    import torch
    import torch.nn.functional as functional

    params = {k: torch.tensor(v, requires_grad=True) for k, v in problem.fresh_params().items()}
    x, labels, lr = torch.tensor(problem.inputs), torch.tensor(problem.targets), problem.lr

    def loss_fn():
        h = functional.max_pool2d(torch.relu(functional.conv2d(x, params["W0"], params["b0"], padding=1)), 2)
        h = functional.max_pool2d(torch.relu(functional.conv2d(h, params["W1"], params["b1"], padding=1)), 2)
        return functional.cross_entropy(functional.linear(h.flatten(1), params["W2"], params["b2"]), labels)

    return torch_stepper(loss_fn, params, lr)


# --------------------------------------------------------------------------- hand NumPy
def _windows(x: np.ndarray) -> np.ndarray:
    """im2col: every 3×3 window of the zero-padded N×H×W×C input as a row (kh, kw, C), one copy."""
    count, height, width, channels = x.shape
    padded = np.zeros((count, height + 2, width + 2, channels), dtype=x.dtype)
    padded[:, 1:-1, 1:-1, :] = x
    windows = sliding_window_view(padded, (KERNEL, KERNEL), axis=(1, 2))  # N, H, W, C, kh, kw
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(count * height * width, KERNEL * KERNEL * channels)


def _col2im(grad: np.ndarray, weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The input gradient of a convolution from its output gradient (rows × O) and weight (O, kh·kw·C).

    The adjoint of ``_windows`` fused with the product by the weight: for each kernel offset, one
    product by that offset's block of the weight, added where those windows were copied from
    (contiguous operands; the gradient of the windows is never made whole).
    """
    count, height, width, channels = shape
    blocks = weight.reshape(weight.shape[0], KERNEL * KERNEL, channels)
    padded = np.zeros((count, height + 2, width + 2, channels), dtype=grad.dtype)
    for row in range(KERNEL):
        for column in range(KERNEL):
            shifted = (grad @ blocks[:, row * KERNEL + column, :]).reshape(count, height, width, channels)
            padded[:, row : row + height, column : column + width, :] += shifted
    return padded[:, 1:-1, 1:-1, :]


def _pool_relu(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2×2 max-pooling then relu of N×H×W×C; returns the result and where each block's (first) maximum was."""
    count, height, width, channels = z.shape
    blocks = z.reshape(count, height // 2, 2, width // 2, 2, channels)
    pooled = blocks.max(axis=(2, 4))
    at_maximum = blocks == pooled[:, :, None, :, None, :]
    taken = at_maximum[:, :, 0, :, 0, :].copy()  # ties (blank areas of the digits): the first maximum only,
    for row, column in ((0, 1), (1, 0), (1, 1)):  # in reading order, as PyTorch picks it
        here = at_maximum[:, :, row, :, column, :]
        here &= ~taken
        taken |= here
    np.maximum(pooled, 0, out=pooled)
    return pooled, at_maximum


def _unpool(grad: np.ndarray, pooled: np.ndarray, at_maximum: np.ndarray) -> np.ndarray:
    """The gradient of ``_pool_relu`` at its input: to the maximum of each block, where relu let it through."""
    grad = grad * (pooled > 0)
    count, height, _, width, _, channels = at_maximum.shape
    spread = at_maximum * grad[:, :, None, :, None, :]
    return spread.reshape(count, height * 2, width * 2, channels)


def cnn_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()
    dtype = params["W0"].dtype
    lr = dtype.type(problem.lr)
    x = np.ascontiguousarray(problem.inputs.transpose(0, 2, 3, 1))  # N×H×W×C, once, outside the step
    labels = problem.targets
    rows = np.arange(len(labels))
    # The weights in the layout of the windows (O, kh, kw, C) and of the N×h×w×C features, kept as such.
    own = {
        "W0": params["W0"].transpose(0, 2, 3, 1).reshape(len(params["b0"]), -1).copy(),
        "W1": params["W1"].transpose(0, 2, 3, 1).reshape(len(params["b1"]), -1).copy(),
        "b0": params["b0"],
        "b1": params["b1"],
        "b2": params["b2"],
    }
    channels = len(params["b1"])
    side = int(round(np.sqrt(params["W2"].shape[1] // channels)))
    own["W2"] = params["W2"].reshape(10, channels, side, side).transpose(0, 2, 3, 1).reshape(10, -1).copy()

    def step():
        count = len(x)
        rows0 = _windows(x)
        z0 = rows0 @ own["W0"].T
        z0 += own["b0"]
        h0, max0 = _pool_relu(z0.reshape(*x.shape[:3], -1))
        rows1 = _windows(h0)
        z1 = rows1 @ own["W1"].T
        z1 += own["b1"]
        h1, max1 = _pool_relu(z1.reshape(*h0.shape[:3], -1))
        features = h1.reshape(count, -1)
        logits = features @ own["W2"].T
        logits += own["b2"]
        loss, grad = hand_softmax_cross_entropy(logits, labels, rows)
        grads = {"W2": grad.T @ features, "b2": grad.sum(axis=0)}
        grad = _unpool((grad @ own["W2"]).reshape(h1.shape), h1, max1).reshape(-1, channels)
        grads["W1"], grads["b1"] = grad.T @ rows1, grad.sum(axis=0)
        grad = _unpool(_col2im(grad, own["W1"], h0.shape), h0, max0).reshape(len(rows0), -1)
        grads["W0"], grads["b0"] = grad.T @ rows0, grad.sum(axis=0)
        for name, value in own.items():
            value -= lr * grads[name]
        return loss, {  # in PyTorch's layout for the agreement check: views, apart from the small W2
            "W0": grads["W0"].reshape(len(own["b0"]), KERNEL, KERNEL, 1).transpose(0, 3, 1, 2),
            "W1": grads["W1"].reshape(channels, KERNEL, KERNEL, -1).transpose(0, 3, 1, 2),
            "W2": grads["W2"].reshape(10, side, side, channels).transpose(0, 3, 1, 2).reshape(10, -1),
            "b0": grads["b0"],
            "b1": grads["b1"],
            "b2": grads["b2"],
        }

    return step
