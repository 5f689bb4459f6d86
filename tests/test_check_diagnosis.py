"""check_gradient and gradcheck on convolutions, pooling, batch norm and dropout: the homework case.

A hand-written backward with a typical mistake is pointed at, with the likely cause.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.check import check_gradient, check_module, gradcheck

RNG = np.random.default_rng(3)
X, W = RNG.normal(size=(2, 3, 5, 5)), RNG.normal(size=(4, 3, 3, 3))
G = RNG.normal(size=(2, 4, 5, 5))  # the upstream gradient of L = Σ conv2d(x, w, padding=1) ⊙ G


def loss(x, w):
    return (cr.conv2d(x, w, padding=1) * G).sum()


def hand_backward(x, w, crop=(slice(1, -1), slice(1, -1)), flip=False, border=False):
    """The student's backward of ``loss``, with the mistakes the options put in."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    grad_padded, grad_w = np.zeros_like(padded), np.zeros_like(w)
    for i in range(5):
        for j in range(5):
            grad_w += np.einsum("no,ncpq->ocpq", G[:, :, i, j], padded[:, :, i : i + 3, j : j + 3])
            grad_padded[:, :, i : i + 3, j : j + 3] += np.einsum("no,ocpq->ncpq", G[:, :, i, j], w)
    grad_x = grad_padded[:, :, crop[0], crop[1]].copy()
    if border:
        grad_x[:, :, 0] = 0
    return grad_x, grad_w[:, :, ::-1, ::-1] if flip else grad_w


def test_a_right_hand_written_convolution_backward_passes() -> None:
    assert check_gradient(loss, hand_backward, X, W)


@pytest.mark.parametrize(
    ("mistake", "wrong", "note"),
    [
        (
            {"flip": True},
            "w",
            "the gradient for w is the true one rotated 180° in its last two axes: a flipped kernel?",
        ),
        (
            {"crop": (slice(None, -2), slice(None, -2))},
            "x",
            r"the gradient for x is the true one shifted by \(1, 1\) along its last two axes: the padding cut off",
        ),
        ({"border": True}, "x", "every wrong element of the gradient for x is on the border of its last two axes"),
    ],
)
def test_a_wrong_convolution_backward_is_pointed_at_with_its_likely_mistake(mistake, wrong, note) -> None:
    report = check_gradient(loss, lambda x, w: hand_backward(x, w, **mistake), X, W)
    assert not report
    failed = [check for check in report.inputs if not check.passed]
    assert [check.name for check in failed] == [wrong]
    assert failed[0].worst_index is not None and len(failed[0].worst_index) == 4  # the element, in the 4-D array
    assert any(__import__("re").search(note, text) for text in failed[0].notes), failed[0].notes


def test_gradcheck_handles_every_new_op_with_parameters_and_modes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 6, 6))
    w, b = rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4)
    gamma, beta = rng.uniform(0.5, 1.5, size=4), rng.normal(size=4)
    mean, var = np.zeros(4), np.ones(4)

    def network(x, w, b, gamma, beta, training=True):
        h = cr.conv2d(x, w, b, stride=1, padding=1)
        h = cr.batch_norm(h, mean, var, gamma, beta, training=training)
        h = cr.avg_pool2d(cr.max_pool2d(cr.tanh(h), 2), 3)
        return (cr.dropout(h, 0.3, rng=1) ** 2).sum()

    assert gradcheck(network, x, w, b, gamma, beta)
    assert gradcheck(lambda *inputs: network(*inputs, training=False), x, w, b, gamma, beta)


def test_check_module_checks_a_cnn_and_leaves_its_running_statistics_alone() -> None:
    cr.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.5), nn.Flatten()
    )
    net.layers[4].rng = 3  # a fixed mask: the same function at every evaluation
    net.layers.append(nn.Linear(8, 3))
    x, y = np.random.default_rng(1).normal(size=(4, 1, 4, 4)), np.array([0, 1, 2, 1])
    before = {name: values.copy() for name, values in net.named_buffers()}
    assert check_module(net, cr.cross_entropy, (x, y))
    for name, values in net.named_buffers():
        np.testing.assert_array_equal(values, before[name])


def test_the_readme_convolution_example_finds_the_shifted_gradient(capsys) -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Check your own convolution backward", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(code, {})  # noqa: S102 - the README's own example
    printed = capsys.readouterr().out
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    assert printed.splitlines()[0] == shown.splitlines()[0] and printed.splitlines()[-1] == shown.splitlines()[-1]
    assert printed.splitlines()[2] == shown.splitlines()[2]  # the failing row for x, every number as shown
