"""batch_norm and layer_norm against PyTorch (float64, 1e-10; running statistics too) and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracles import OpCase, check_against_torch, op_tests


def functional():
    return __import__("torch").nn.functional


def batch_norm_case(shape, affine=True, training=True) -> OpCase:
    """Batch norm with its weight and bias as inputs; in eval mode with fixed running statistics."""
    channels = shape[1]
    stats = np.linspace(-0.5, 0.5, channels), np.linspace(0.5, 2.0, channels)
    running = cr.tensor(stats[0]), cr.tensor(stats[1])  # made once, as a layer's: updated in place by every call

    def mine(x, *affine_inputs):
        return cr.batch_norm(x, *running, *affine_inputs, training=training, eps=1e-3)

    def theirs(x, *affine_inputs):
        torch = __import__("torch")
        mean, var = torch.tensor(stats[0]), torch.tensor(stats[1])  # used only in evaluation mode, never updated
        return functional().batch_norm(x, mean, var, *affine_inputs, training=training, eps=1e-3)

    shapes = [shape] + ([(channels,), (channels,)] if affine else [])
    return OpCase(f"batch_norm {shape} affine={affine} training={training}", mine, theirs, shapes)


def layer_norm_case(shape, normalized, affine=True) -> OpCase:
    shapes = [shape] + ([normalized, normalized] if affine else [])
    return OpCase(
        f"layer_norm {shape} over {normalized} affine={affine}",
        lambda x, *wb: cr.layer_norm(x, normalized, *wb, eps=1e-3),
        lambda x, *wb: functional().layer_norm(x, normalized, *wb, eps=1e-3),
        shapes,
    )


CASES = [
    batch_norm_case((5, 3)),
    batch_norm_case((4, 3, 6)),
    batch_norm_case((2, 3, 4, 5)),
    batch_norm_case((2, 3, 4, 5), affine=False),
    batch_norm_case((2, 3, 4, 5), training=False),
    batch_norm_case((1, 2, 3, 3)),  # one sample, nine values per channel: allowed
    layer_norm_case((4, 6), (6,)),
    layer_norm_case((2, 3, 4, 5), (4, 5)),
    layer_norm_case((2, 3, 4), (4,), affine=False),
    layer_norm_case((3,), (3,)),
]

test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=2, max_size=4),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.1, 0.5, None]),
    st.integers(0, 2**32 - 1),
)
def test_batch_norm_equals_torch_with_running_statistics(torch, shape, training, affine, momentum, seed) -> None:
    shape[0] += 1  # at least two samples: a training batch has more than one value per channel
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = rng.normal(size=shape) * 3 + 1
    weight, bias = rng.normal(size=channels), rng.normal(size=channels)
    mean, var = rng.normal(size=channels), rng.uniform(0.5, 2, size=channels)
    batches = np.array(3, dtype=np.int64)
    torch_mean, torch_var = torch.tensor(mean), torch.tensor(var)
    affine_inputs = [cr.tensor(weight, requires_grad=True), cr.tensor(bias, requires_grad=True)] if affine else []
    torch_affine = [torch.tensor(weight, requires_grad=True), torch.tensor(bias, requires_grad=True)] if affine else []
    leaf, torch_leaf = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = cr.batch_norm(
        leaf, mean, var, *affine_inputs, training=training, momentum=momentum, num_batches_tracked=batches
    )
    factor = (1 / 4 if momentum is None else momentum) if training else 0.0  # PyTorch's module passes 1/batches
    torch_out = torch.nn.functional.batch_norm(
        torch_leaf, torch_mean, torch_var, *(torch_affine or [None, None]), training=training, momentum=factor
    )
    grad = rng.normal(size=out.shape)
    (out * grad).sum().backward()
    (torch_out * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(out.data, torch_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-10)
    for mine, their in zip(affine_inputs, torch_affine):
        np.testing.assert_allclose(mine.grad, their.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mean, torch_mean.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, torch_var.numpy(), rtol=1e-12, atol=1e-12)
    assert int(batches) == (4 if training else 3)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.integers(1, 3), st.booleans(), st.integers(0, 2**32 - 1))
def test_layer_norm_equals_torch_for_random_shapes(torch, shape, count, affine, seed) -> None:
    normalized = tuple(shape[-min(count, len(shape)) :])
    check_against_torch(layer_norm_case(tuple(shape), normalized, affine), torch, np.random.default_rng(seed))


def test_float32_stays_float32_with_float64_running_statistics(rng) -> None:
    x = cr.tensor(rng.normal(size=(4, 3, 2, 2)), dtype=np.float32, requires_grad=True)
    weight = cr.tensor(np.ones(3), dtype=np.float32, requires_grad=True)
    mean, var = np.zeros(3), np.ones(3)
    for training in (True, False):
        out = cr.batch_norm(x, mean, var, weight, training=training) + cr.layer_norm(x, (2, 2))
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == weight.grad.dtype == np.float32
    assert mean.dtype == np.float64 and mean.any()


def test_a_trace_updates_the_running_statistics_once_per_call_as_eager_code_does(rng) -> None:
    x = rng.normal(size=(6, 2))
    weight = cr.tensor(np.ones(2), requires_grad=True)
    eager_mean, traced_mean = np.zeros(2), np.zeros(2)
    eager_var, traced_var = np.ones(2), np.ones(2)
    mean_tensor, var_tensor = cr.tensor(traced_mean, dtype=np.float64), cr.tensor(traced_var, dtype=np.float64)
    mean_tensor.data, var_tensor.data = traced_mean, traced_var  # the very arrays, updated in place
    step = cr.trace(lambda batch: cr.batch_norm(batch, mean_tensor, var_tensor, weight, training=True).sum())
    for scale in (1.0, 2.0, 3.0):
        cr.batch_norm(cr.tensor(x * scale), eager_mean, eager_var, weight, training=True).sum().backward()
        step(cr.tensor(x * scale))
    np.testing.assert_array_equal(traced_mean, eager_mean)
    np.testing.assert_array_equal(traced_var, eager_var)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: cr.batch_norm(np.ones((1, 3)), np.zeros(3), np.ones(3), training=True),
            ValueError,
            r"batch_norm: training needs more than one value per channel, got input of shape \(1, 3\)",
        ),
        (
            lambda: cr.batch_norm(np.ones((4, 3)), np.zeros(2), np.ones(2), training=True),
            cr.ShapeError,
            r"batch_norm: running_mean must have shape \(3,\), one per channel of the input \(4, 3\), got \(2,\)",
        ),
        (
            lambda: cr.batch_norm(np.ones((4, 3)), None, None, np.ones(4), training=True),
            cr.ShapeError,
            r"batch_norm: weight must have shape \(3,\), one per channel of the input \(4, 3\), got \(4,\)",
        ),
        (
            lambda: cr.batch_norm(np.ones(4), None, None, training=True),
            cr.ShapeError,
            r"batch_norm: expects an input \(N, C, …\) with a channel axis, got shape \(4,\)",
        ),
        (
            lambda: cr.batch_norm(np.ones((4, 3)), [0.0] * 3, [1.0] * 3, training=True),
            TypeError,
            "batch_norm: running_mean must be an array or a tensor that does not require grad",
        ),
        (
            lambda: cr.batch_norm(np.ones((4, 3)), None, None),
            ValueError,
            "batch_norm: evaluation mode .* needs running_mean and running_var",
        ),
        (
            lambda: cr.layer_norm(np.ones((4, 3)), 4),
            cr.ShapeError,
            r"layer_norm: normalized_shape \(4,\) must be the last axes of the input, got shape \(4, 3\)",
        ),
        (
            lambda: cr.layer_norm(np.ones((4, 3)), 3, np.ones(4)),
            cr.ShapeError,
            r"layer_norm: weight must have the normalized shape \(3,\), got \(4,\)",
        ),
    ],
)
def test_bad_inputs_get_one_line_naming_the_op_and_shapes(call, error, message) -> None:
    with pytest.raises(error, match=message) as raised:
        call()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("case", [c for c in CASES if c.finite_differences], ids=str)
def test_third_derivatives_match_finite_differences_of_the_second(case, rng, torch) -> None:
    """Σ ∂/∂x (Σ ∂/∂x (Σ out ⊙ v) ⊙ u) ⊙ w against central differences of the second derivative.

    PyTorch is no oracle here: its third derivatives of batch_norm and layer_norm disagree with finite
    differences of its own second derivatives (shown below for layer_norm), while ours agree.
    """
    from chainrule.check import numerical_gradient
    from oracles import relative_error, vjp_through

    arrays = case.inputs(rng)
    shape = case.chainrule(*(cr.tensor(a) for a in arrays)).shape
    v, u, w = (
        rng.normal(size=shape),
        [rng.normal(size=a.shape) for a in arrays],
        [rng.normal(size=a.shape) for a in arrays],
    )

    def second(*tensors):
        with cr.enable_grad():  # numerical_gradient calls it without recording; the vjps need their graph
            leaves = [cr.tensor(t.data if isinstance(t, cr.Tensor) else t, requires_grad=True) for t in tensors]
            firsts = vjp_through(case.chainrule(*leaves), leaves, cr.tensor(v))
            total = sum(((g * k).sum() for g, k in zip(firsts, u) if g is not None), cr.tensor(0.0))
            seconds = vjp_through(total, leaves, cr.tensor(1.0))
            return leaves, sum(((g * k).sum() for g, k in zip(seconds, w) if g is not None), cr.tensor(0.0))

    leaves, total = second(*arrays)
    if total.requires_grad:  # evaluation mode is affine in x: no third derivative at all
        total.backward()
    numeric = numerical_gradient(lambda *ts: second(*ts)[1].item(), *arrays, eps=1e-5)
    for leaf, expected in zip(leaves, numeric):
        mine = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
        assert relative_error(mine, expected) < 1e-6, case


def test_torchs_third_derivative_of_layer_norm_is_not_the_derivative_of_its_second(torch, rng) -> None:
    """Why the third derivatives above are not compared with PyTorch's (torch 2.13): its own numbers disagree."""
    x0, v, u, w = (rng.normal(size=(4, 6)) for _ in range(4))

    def second(values):
        x = torch.tensor(values, requires_grad=True)
        (g,) = torch.autograd.grad(torch.nn.functional.layer_norm(x, (6,)), x, torch.tensor(v), create_graph=True)
        (h,) = torch.autograd.grad((g * torch.tensor(u)).sum(), x, create_graph=True)
        return x, (h * torch.tensor(w)).sum()

    x, total = second(x0)
    (third,) = torch.autograd.grad(total, x)
    numeric = np.zeros_like(x0)
    for index in np.ndindex(x0.shape):
        step = np.zeros_like(x0)
        step[index] = 1e-5
        numeric[index] = (second(x0 + step)[1].item() - second(x0 - step)[1].item()) / 2e-5
    assert np.abs(third.numpy() - numeric).max() > 1e-2 * np.abs(numeric).max()


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_running_statistics_are_refused_in_one_line_as_torch_refuses_them(torch, training, dtype) -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(RuntimeError):  # PyTorch: "expect parameter to have scalar type of Float"
        torch.nn.functional.batch_norm(
            torch.tensor(x), torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.long), training=training
        )
    mean, var = np.zeros(3, dtype=dtype), np.ones(3)
    with pytest.raises(cr.DTypeError) as raised:
        cr.batch_norm(x, mean, var, training=training)
    assert str(raised.value) == (
        f"batch_norm: running_mean holds {np.dtype(dtype)} numbers; running statistics are averages, updated in "
        "place, and must be floating point (as in PyTorch): create them as np.zeros(3) and np.ones(3)"
    )
    assert mean.tolist() == [0, 0, 0]  # refused before anything moved
    with pytest.raises(cr.DTypeError, match="^batch_norm: running_var holds"):
        cr.batch_norm(x, np.zeros(3), cr.tensor(np.ones(3, dtype=dtype), dtype=dtype), training=training)
