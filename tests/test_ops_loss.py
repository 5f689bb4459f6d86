"""Losses: values and gradients against PyTorch, stability, and the shape mistakes they catch."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

import chainrule as cr
from oracles import OpCase, op_tests
from test_ops_activation import check_silent_and_like_torch, extreme_rows


def torch_functional():
    import torch.nn.functional as functional

    return functional


CASES = [
    OpCase("squared_norm", cr.squared_norm, lambda w: (w * w).sum(), [(3, 4)]),
    OpCase("squared_norm rows", lambda w: cr.squared_norm(w, axis=-1), lambda w: (w * w).sum(dim=-1), [(3, 4)]),
    OpCase(
        "squared_norm keepdims",
        lambda w: cr.squared_norm(w, axis=0, keepdims=True),
        lambda w: (w * w).sum(dim=0, keepdim=True),
        [(3, 4)],
    ),
    OpCase("mse", cr.mse, lambda p, t: torch_functional().mse_loss(p, t), [(5, 2), (5, 2)]),
    OpCase(
        "mse sum",
        lambda p, t: cr.mse(p, t, reduction="sum"),
        lambda p, t: torch_functional().mse_loss(p, t, reduction="sum"),
        [(5, 2), (5, 2)],
    ),
    OpCase(
        "mse none",
        lambda p, t: cr.mse(p, t, reduction="none"),
        lambda p, t: torch_functional().mse_loss(p, t, reduction="none"),
        [(5, 2), (5, 2)],
    ),
    OpCase(
        "cross_entropy labels",
        lambda z, labels: cr.cross_entropy(z, labels),
        lambda z, labels: torch_functional().cross_entropy(z, z.new_tensor(labels, dtype=int)),
        [(6, 3)],
        constants=lambda rng: {"labels": rng.integers(0, 3, size=6)},
    ),
    OpCase(
        "cross_entropy labels sum",
        lambda z, labels: cr.cross_entropy(z, labels, reduction="sum"),
        lambda z, labels: torch_functional().cross_entropy(z, z.new_tensor(labels, dtype=int), reduction="sum"),
        [(6, 3)],
        constants=lambda rng: {"labels": rng.integers(0, 3, size=6)},
    ),
    OpCase(
        "cross_entropy labels none",
        lambda z, labels: cr.cross_entropy(z, labels, reduction="none"),
        lambda z, labels: torch_functional().cross_entropy(z, z.new_tensor(labels, dtype=int), reduction="none"),
        [(6, 3)],
        constants=lambda rng: {"labels": rng.integers(0, 3, size=6)},
    ),
    OpCase(
        "cross_entropy probabilities",
        cr.cross_entropy,
        lambda z, t: torch_functional().cross_entropy(z, t),
        [(4, 3), (4, 3)],
        ["any", "probability"],
    ),
    *(
        OpCase(
            f"cross_entropy probabilities {reduction}",
            lambda z, t, r=reduction: cr.cross_entropy(z, t, reduction=r),
            lambda z, t, r=reduction: torch_functional().cross_entropy(z, t, reduction=r),
            [(4, 3), (4, 3)],
            ["any", "probability"],
        )
        for reduction in ("sum", "none")
    ),
    OpCase(
        "cross_entropy one-hot integers",
        lambda z: cr.cross_entropy(z, np.eye(3, dtype=np.int64)[[0, 2, 1, 1]]),
        lambda z: torch_functional().cross_entropy(z, z.new_tensor(np.eye(3)[[0, 2, 1, 1]])),
        [(4, 3)],
    ),
    OpCase(
        "cross_entropy labels 3-d none",
        lambda z: cr.cross_entropy(z, np.array([[0, 1], [2, 2]]), reduction="none"),
        lambda z: torch_functional().cross_entropy(
            z.permute(0, 2, 1), z.new_tensor([[0, 1], [2, 2]], dtype=int), reduction="none"
        ),
        [(2, 2, 3)],
    ),
    OpCase(
        "binary_cross_entropy none",
        lambda p, t: cr.binary_cross_entropy(p, t, reduction="none"),
        lambda p, t: torch_functional().binary_cross_entropy(p, t, reduction="none"),
        [(5,), (5,)],
        ["probability", "probability"],
    ),
    OpCase(
        "binary_cross_entropy logits sum",
        lambda z, t: cr.binary_cross_entropy(z, t, reduction="sum", from_logits=True),
        lambda z, t: torch_functional().binary_cross_entropy_with_logits(z, t, reduction="sum"),
        [(5,), (5,)],
        ["any", "probability"],
    ),
    OpCase(
        "binary_cross_entropy",
        cr.binary_cross_entropy,
        lambda p, t: torch_functional().binary_cross_entropy(p, t),
        [(5,), (5,)],
        ["probability", "probability"],
    ),
    OpCase(
        "binary_cross_entropy logits",
        lambda z, t: cr.binary_cross_entropy(z, t, from_logits=True),
        lambda z, t: torch_functional().binary_cross_entropy_with_logits(z, t),
        [(5, 2), (5, 2)],
        ["any", "probability"],
    ),
]


test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


def test_cross_entropy_one_hot_equals_labels() -> None:
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    by_label = cr.cross_entropy(cr.tensor(logits), [0, 2]).item()
    by_one_hot = cr.cross_entropy(cr.tensor(logits), [[1, 0, 0], [0, 0, 1]]).item()
    assert by_label == pytest.approx(by_one_hot, rel=1e-15)
    expected = -np.mean(
        [logits[0, 0] - np.log(np.exp(logits[0]).sum()), logits[1, 2] - np.log(np.exp(logits[1]).sum())]
    )
    assert by_label == pytest.approx(expected, rel=1e-14)


def test_squared_norm_is_accurate_in_every_float_dtype() -> None:
    """The float64 BLAS dot product and the float32/float16 pairwise sum are both near the exact value."""
    import math
    from fractions import Fraction

    rng = np.random.default_rng(3)
    w = rng.normal(size=200_000) * np.exp(rng.normal(size=200_000))
    exact = float(sum(Fraction(float(v)) ** 2 for v in w[:20_000]))
    assert cr.squared_norm(cr.tensor(w[:20_000])).item() == pytest.approx(exact, rel=1e-14)
    assert cr.squared_norm(cr.tensor(w)).item() == pytest.approx(math.fsum(w * w), rel=1e-13)
    for dtype, tolerance in ((np.float32, 1e-6), (np.float16, 5e-4)):  # BLAS float32 dot: 2e-5 here
        small = np.full(100_000, 0.1, dtype)
        out = cr.squared_norm(cr.tensor(small))
        assert out.dtype == dtype
        assert out.item() == pytest.approx(100_000 * float(small[0]) ** 2, rel=tolerance)


def test_losses_of_huge_logits_are_finite_and_silent() -> None:
    logits = cr.tensor([[1000.0, -1000.0, 0.0], [-1e5, 1e5, 3.0]], requires_grad=True)
    scores = cr.tensor([1000.0, -1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            loss = cr.cross_entropy(logits, [1, 0]) + cr.binary_cross_entropy(scores, [0.0, 1.0], from_logits=True)
            loss.backward()
    assert loss.item() == pytest.approx((2000.0 + 2e5) / 2 + 1000.0)
    assert np.all(np.isfinite(logits.grad)) and np.all(np.isfinite(scores.grad))


def test_binary_cross_entropy_of_certain_wrong_predictions_is_clamped_like_torch() -> None:
    loss = cr.binary_cross_entropy(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 0.0]))
    assert loss.item() == 100.0


def test_loss_errors_name_the_mistake() -> None:
    with pytest.raises(cr.ShapeError, match=r"mse: prediction has shape \(3, 1\) but target has shape \(3,\)"):
        cr.mse(cr.tensor(np.ones((3, 1))), np.ones(3))
    with pytest.raises(ValueError, match=r"cross_entropy: label 3 is out of range for 3 classes"):
        cr.cross_entropy(cr.tensor(np.ones((2, 3))), [0, 3])
    for huge in (2**63, 2**64 - 1):  # such uint64 labels wrap to negative numbers as array indices
        with pytest.raises(ValueError, match=rf"cross_entropy: label {huge} is out of range for 3 classes"):
            cr.cross_entropy(cr.tensor(np.ones((2, 3))), np.array([0, huge], dtype=np.uint64))
    with pytest.raises(cr.ShapeError, match=r"cross_entropy: labels have shape \(3,\) but logits \(2, 3\)"):
        cr.cross_entropy(cr.tensor(np.ones((2, 3))), [0, 1, 2])
    with pytest.raises(ValueError, match="binary_cross_entropy: predictions must be probabilities"):
        cr.binary_cross_entropy(cr.tensor([1.5]), [1.0])
    with pytest.raises(ValueError, match="mse: reduction must be one of mean, sum, none"):
        cr.mse(cr.tensor([1.0]), [1.0], reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: reduction must be one of mean, sum, none; got a Tensor"):
        cr.cross_entropy(cr.tensor(np.ones((2, 3))), [0, 1], cr.tensor([1.0, 1.0, 1.0]))  # torch's class weights


@pytest.mark.parametrize("anomaly", [False, True], ids=["eager", "detect_anomaly"])
def test_a_loss_names_itself_once(anomaly) -> None:
    """An op's own ValueError is raised as it wrote it: not prefixed a second time, not called a ShapeError."""
    logits = cr.tensor([[1.0, 2.0]], requires_grad=True)
    cases = [
        (lambda: cr.cross_entropy(logits, [4]), "cross_entropy: label 4 is out of range for 2 classes (0 to 1)"),
        (
            lambda: cr.binary_cross_entropy(cr.tensor([2.0]), [1.0]),
            "binary_cross_entropy: predictions must be probabilities in [0, 1]; pass from_logits=True for raw scores",
        ),
    ]
    for call, message in cases:
        with cr.detect_anomaly() if anomaly else contextlib.nullcontext():
            with pytest.raises(ValueError) as caught:
                call()
        assert str(caught.value) == message
        assert not isinstance(caught.value, cr.ShapeError)


def soft_cross_entropy_without_overflow(x, t):
    """−Σ t log softmax(x) = Σ t·m − Σ t·x + log Σ exp(x − m) for Σ t = 1.

    Each part is a float whenever the loss is one, unlike log softmax(x), which overflows first."""
    m = x.max().detach()
    return (t * m).sum() - (t * x).sum() + (x - m).exp().sum().log()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_losses_are_silent_and_right_up_to_the_largest_float(dtype, torch) -> None:
    """Logits up to the largest float, and further apart than its range: every loss is the exact value rounded
    (inf only where it is beyond the range), its gradient finite, nothing warns; references in float64 from
    PyTorch, or where PyTorch overflows on the way (soft targets, a mean of two 1e308) from sums of floats."""
    functional = torch_functional()
    for row in extreme_rows(dtype):
        logits = np.array(row, dtype)
        classes = len(row)
        for k in range(classes):
            one_hot = np.eye(classes, dtype=dtype)[k]
            by_label = (
                lambda x, k=k: cr.cross_entropy(x, np.array(k)),
                lambda x, k=k: functional.cross_entropy(x, torch.tensor(k)),
            )
            by_one_hot = (lambda x, t=one_hot: cr.cross_entropy(x, t), by_label[1])
            for ours, theirs in (by_label, by_one_hot):
                check_silent_and_like_torch(ours, theirs, logits, torch)
        soft = np.full(classes, 1 / classes, dtype)
        check_silent_and_like_torch(
            lambda x: cr.cross_entropy(x, soft),
            lambda x: soft_cross_entropy_without_overflow(x, torch.tensor(soft.astype(np.float64))),
            logits,
            torch,
        )
        for target in (0.0, 1.0, 0.5):
            targets = np.full(classes, target, dtype)
            check_silent_and_like_torch(
                lambda x, t=targets: cr.binary_cross_entropy(x, t, from_logits=True),
                lambda x, t=targets: (  # each loss divided before the sum: PyTorch's sum of two 1e308 is inf
                    functional.binary_cross_entropy_with_logits(x, torch.tensor(t.astype(np.float64)), reduction="none")
                    / len(t)
                ).sum(),
                logits,
                torch,
            )


EMPTY = "the mean of no losses is undefined (reduction='sum' gives 0)"


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (
            lambda **kw: cr.cross_entropy(cr.tensor(np.zeros((0, 3)), requires_grad=True), np.zeros(0, int), **kw),
            f"cross_entropy: the batch is empty (logits of shape (0, 3)): {EMPTY}",
        ),
        (
            lambda **kw: cr.cross_entropy(cr.tensor(np.zeros((0, 3)), requires_grad=True), np.zeros((0, 3)), **kw),
            f"cross_entropy: the batch is empty (logits of shape (0, 3)): {EMPTY}",
        ),
        (
            lambda **kw: cr.mse(cr.tensor(np.zeros((0, 2)), requires_grad=True), np.zeros((0, 2)), **kw),
            f"mse: the batch is empty (prediction of shape (0, 2)): {EMPTY}",
        ),
        (
            lambda **kw: cr.binary_cross_entropy(cr.tensor(np.zeros(0), requires_grad=True), np.zeros(0), **kw),
            f"binary_cross_entropy: the batch is empty (prediction of shape (0,)): {EMPTY}",
        ),
        (
            lambda **kw: cr.binary_cross_entropy(
                cr.tensor(np.zeros(0), requires_grad=True), np.zeros(0), from_logits=True, **kw
            ),
            f"binary_cross_entropy: the batch is empty (prediction of shape (0,)): {EMPTY}",
        ),
    ],
    ids=["cross_entropy labels", "cross_entropy probabilities", "mse", "binary_cross_entropy", "bce from logits"],
)
def test_the_mean_loss_of_an_empty_batch_is_an_error_saying_what_was_empty(loss, message) -> None:
    """Never 0.0: the mean of no losses is undefined. Their sum is 0, and reduction='none' gives no losses."""
    with pytest.raises(cr.ShapeError) as caught:
        loss()
    assert str(caught.value) == message
    total = loss(reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert loss(reduction="none").size == 0


def test_cross_entropy_of_logits_without_classes_says_so() -> None:
    with pytest.raises(cr.ShapeError) as caught:
        cr.cross_entropy(cr.tensor(np.zeros((3, 0))), [0, 0, 0])
    assert str(caught.value) == "cross_entropy: logits of shape (3, 0) have no classes"


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e308), (np.float32, 3e38)])
def test_a_mean_loss_that_fits_is_finite_though_one_sample_loss_does_not(dtype, big) -> None:
    # sample 2's loss is 2·big, beyond the largest float; the mean, big, is a float: never inf
    logits = cr.tensor([[big, -big], [big, -big]], dtype=dtype, requires_grad=True)
    with np.errstate(all="raise"):
        loss = cr.cross_entropy(logits, np.array([0, 1]))
        soft = cr.cross_entropy(logits, np.array([[1.0, 0.0], [0.0, 1.0]], dtype=dtype))
        loss.backward()
    assert loss.dtype == dtype and loss.item() == pytest.approx(float(big), rel=1e-6)
    assert soft.item() == pytest.approx(float(big), rel=1e-6)
    np.testing.assert_allclose(logits.grad, [[0.0, 0.0], [0.5, -0.5]])
    both = cr.cross_entropy(cr.tensor([[big, -big]], dtype=dtype), np.array([1]))
    assert np.isposinf(both.item())  # 2·big itself: inf is the exact value rounded


def test_labelled_cross_entropy_takes_each_rows_maximum_column_by_column(
    monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    # a few classes: np.maximum and + of the columns instead of NumPy's max and sum along the row; the
    # loss and its gradient must be those of NumPy's bit for bit, signed zeros, ±800 and nan included
    from chainrule.ops import loss as loss_module

    values = np.array([0.0, -0.0, 1.0, -1.0, 800.0, -800.0, np.nan])
    for classes in range(1, 11):
        logits = values[rng.integers(0, len(values) - (classes % 2), size=(40, classes))]  # nan in even counts
        labels = rng.integers(0, classes, 40)

        def run() -> tuple[bytes, bytes]:
            z = cr.tensor(logits, requires_grad=True)
            result = cr.cross_entropy(z, labels)
            result.backward()
            return result.data.tobytes(), z.grad.tobytes()

        column_by_column = run()
        with monkeypatch.context() as patch:
            patch.setattr(loss_module, "_row_maxima", lambda x: x.max(axis=-1, keepdims=True))
            patch.setattr(loss_module, "_row_sums", lambda x: x.sum(axis=-1, keepdims=True))
            assert run() == column_by_column
        with monkeypatch.context() as patch:  # a maximum that is a zero of the other sign changes nothing either
            patch.setattr(loss_module, "_row_maxima", lambda x: _zeros_flipped(x.max(axis=-1, keepdims=True)))
            assert run() == column_by_column


def _zeros_flipped(values: np.ndarray) -> np.ndarray:
    return np.where(values == 0, -values, values)


def test_cross_entropy_sums_each_row_as_numpy_does(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    # the exponentials of a row are added column by column for a few classes: NumPy's order, bit for bit
    from chainrule.ops import loss as loss_module

    for classes in range(1, 11):
        logits = rng.normal(size=(30, classes)) * rng.choice([0.1, 10.0, 300.0], size=(30, 1))
        targets = (rng.integers(0, classes, 30), rng.dirichlet(np.ones(classes), size=30))

        def run(target: np.ndarray) -> tuple[bytes, bytes]:
            z = cr.tensor(logits, requires_grad=True)
            result = cr.cross_entropy(z, target)
            result.backward()
            return result.data.tobytes(), z.grad.tobytes()

        column_by_column = [run(target) for target in targets]
        with monkeypatch.context() as patch:
            patch.setattr(loss_module, "_row_sums", lambda x: x.sum(axis=-1, keepdims=True))
            assert [run(target) for target in targets] == column_by_column


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("classes", [2, 3, 7, 8])
def test_cross_entropys_row_sums_are_numpys_sums_bit_for_bit(rng, dtype, classes) -> None:
    # the column-by-column sum (few classes) must give NumPy's own sums; float16, which NumPy adds in float32, keeps them
    from chainrule.ops.loss import _row_sums

    exponentials = np.exp(rng.normal(scale=1.5, size=(2000, classes))).astype(dtype)
    assert _row_sums(exponentials).tobytes() == exponentials.sum(axis=-1, keepdims=True).tobytes()


@pytest.mark.parametrize("shape", [(7, 4), (2, 5, 3)])
def test_labelled_cross_entropy_finds_each_label_in_logits_of_any_memory_layout(
    shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    # each label's logit is found by its position in C order (np.ravel_multi_index): logits laid out in
    # reverse order (a transposed view, as x.T makes) give the loss and gradient of their C-ordered copy
    values = rng.normal(size=shape)
    labels = rng.integers(0, shape[-1], shape[:-1])

    def run(reverse_layout: bool) -> tuple[float, np.ndarray]:
        if reverse_layout:
            stored = cr.tensor(np.ascontiguousarray(values.T), requires_grad=True)
            logits = stored.transpose()
        else:
            stored = logits = cr.tensor(values, requires_grad=True)
        assert logits.data.flags.c_contiguous != reverse_layout
        loss = cr.cross_entropy(logits, labels)
        loss.backward()
        grad = stored.grad.T if reverse_layout else stored.grad
        return loss.item(), grad

    loss, grad = run(False)
    probabilities = np.exp(values) / np.exp(values).sum(axis=-1, keepdims=True)
    expected = probabilities.copy()
    np.put_along_axis(
        expected, labels[..., np.newaxis], np.take_along_axis(expected, labels[..., np.newaxis], -1) - 1, -1
    )
    np.testing.assert_allclose(grad, expected / labels.size, rtol=1e-12, atol=1e-15)
    picked = np.take_along_axis(probabilities, labels[..., np.newaxis], -1)
    assert loss == pytest.approx(-np.log(picked).mean(), rel=1e-12)
    reversed_loss, reversed_grad = run(True)
    assert reversed_loss == loss
    assert reversed_grad.tobytes() == np.ascontiguousarray(grad).tobytes()
