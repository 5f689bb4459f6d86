"""Every op's differentiable backward (``vjp``) and forward-mode rule (``jvp``), against PyTorch and finite differences.

Each op case of the ``test_ops_*`` modules is run through the graph its ops built: ``vjp_through`` and
``jvp_through`` (in ``oracles``) walk it calling each node's ``vjp`` or ``jvp``, so the gradient and the
tangent they return carry a graph of their own, which an ordinary first-order backward then differentiates.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule as cr
from chainrule.check import numerical_gradient
from chainrule.engine.function import Function
from chainrule.engine.accumulation import unbroadcast
from oracles import OpCase, graph_tensors, jvp_through, relative_error, torch_jvp, vjp_through
from test_ops_activation import CASES as ACTIVATION_CASES
from test_ops_elementwise import BINARY
from test_ops_elementwise import CASES as ELEMENTWISE_CASES
from test_ops_linalg import CASES as LINALG_CASES
from test_ops_loss import CASES as LOSS_CASES
from test_ops_reduce import CASES as REDUCE_CASES
from test_ops_shape import CASES as SHAPE_CASES
from test_ops_convolution import CASES as CONVOLUTION_CASES
from test_ops_normalization import CASES as NORMALIZATION_CASES
from test_ops_pooling import CASES as POOLING_CASES
from test_ops_regularization import CASES as REGULARIZATION_CASES

CASES = ELEMENTWISE_CASES + LINALG_CASES + REDUCE_CASES + SHAPE_CASES + ACTIVATION_CASES + LOSS_CASES
CASES += CONVOLUTION_CASES + POOLING_CASES + NORMALIZATION_CASES + REGULARIZATION_CASES
TORCH_CASES = [case for case in CASES if case.torch is not None]
TOLERANCE = 1e-10

# Op classes of chainrule.ops that have no gradient at all: their results never enter a graph.
WITHOUT_GRADIENT = {"Compare", "Detach"}
# Op classes added by other branches that do not have vjp and jvp yet (each one a debt, named): none now.
WITHOUT_HIGHER_ORDER_YET: set[str] = set()


class Setup:
    """One case's inputs, constants, output weight ``v`` (the vector of the VJP) and weights ``u`` of its gradients."""

    def __init__(self, case: OpCase, rng: np.random.Generator) -> None:
        self.case = case
        self.arrays = case.inputs(rng)
        self.constants = case.constants(rng) if case.constants else {}
        shape = case.chainrule(*(cr.tensor(a) for a in self.arrays), **self.constants).shape
        self.v = rng.normal(size=shape)
        self.u = [rng.normal(size=a.shape) for a in self.arrays]
        self.tangents = [rng.normal(size=a.shape) for a in self.arrays]

    def run(self, arrays: list[np.ndarray] | None = None) -> tuple[list[cr.Tensor], cr.Tensor]:
        leaves = [cr.tensor(a, requires_grad=True) for a in (self.arrays if arrays is None else arrays)]
        return leaves, self.case.chainrule(*leaves, **self.constants)

    def first_order_gradients(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The gradients of Σ out ⊙ v by the ordinary NumPy backward."""
        with cr.enable_grad():
            leaves, out = self.run(arrays)
            out.backward(self.v)
        return [np.zeros(leaf.shape) if leaf.grad is None else leaf.grad for leaf in leaves]

    def torch_leaves(self, torch: Any) -> list[Any]:
        return [torch.tensor(a, requires_grad=True) for a in self.arrays]


def second_derivatives(setup: Setup) -> list[np.ndarray]:
    """d/dx Σᵢ vjp(v, x)ᵢ ⊙ uᵢ, by a first-order backward through the graph the vjps built."""
    leaves, total = weighted_vjp(setup)
    if total is not None and total.requires_grad:
        total.backward()
    return [np.zeros(leaf.shape) if leaf.grad is None else leaf.grad for leaf in leaves]


def weighted_vjp(setup: Setup) -> tuple[list[cr.Tensor], cr.Tensor | None]:
    """The leaves and Σᵢ vjp(v, x)ᵢ ⊙ uᵢ, a scalar with a graph (None when no input gets a gradient)."""
    leaves, out = setup.run()
    terms = [(g * u).sum() for g, u in zip(vjp_through(out, leaves, cr.tensor(setup.v)), setup.u) if g is not None]
    return leaves, (sum(terms[1:], terms[0]) if terms else None)


def torch_second_derivatives(setup: Setup, torch: Any) -> list[np.ndarray]:
    leaves = setup.torch_leaves(torch)
    out = setup.case.torch(*leaves, **setup.constants)
    gradients = torch.autograd.grad(out, leaves, torch.tensor(setup.v), create_graph=True, allow_unused=True)
    terms = [(g * torch.tensor(u)).sum() for g, u in zip(gradients, setup.u) if g is not None]
    total = sum(terms[1:], terms[0]) if terms else None
    if total is None or not total.requires_grad:
        return [np.zeros(a.shape) for a in setup.arrays]
    seconds = torch.autograd.grad(total, leaves, allow_unused=True)
    return [np.zeros(a.shape) if s is None else s.numpy(force=True) for s, a in zip(seconds, setup.arrays)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_nodes_vjp_gives_the_numbers_of_its_backward(case: OpCase, dtype: Any, rng: np.random.Generator) -> None:
    setup = Setup(case, rng)
    leaves, out = setup.run([a.astype(dtype) for a in setup.arrays])
    checked = 0
    for tensor in graph_tensors(out):
        node = tensor.grad_fn
        if node is None:
            continue
        grad_out = rng.normal(size=tensor.shape).astype(tensor.dtype)
        expected = node.backward(grad_out.copy())
        expected = expected if isinstance(expected, tuple) else (expected,)
        actual = node.vjp(cr.tensor(grad_out), *node.inputs)
        actual = actual if isinstance(actual, tuple) else (actual,)
        assert len(actual) == len(node.inputs), f"{case}: {node.name}.vjp gave {len(actual)} gradients"
        for position, (ours, theirs, tensor_in) in enumerate(zip(actual, expected, node.inputs)):
            if not node.needs_input_grad[position]:  # a gradient nobody asked for: the engine leaves it out
                continue
            assert isinstance(ours, cr.Tensor), f"{case}: {node.name}.vjp input {position} gave {type(ours)}"
            theirs = unbroadcast(np.asarray(theirs), tensor_in.shape)
            ours = cr.sum_to(ours, tensor_in.shape) if ours.shape != tensor_in.shape else ours
            assert ours.dtype == theirs.dtype, f"{case}: {node.name} input {position}: {ours.dtype} ≠ {theirs.dtype}"
            tolerance = 1e-12 if dtype == np.float64 else 1e-5
            np.testing.assert_allclose(
                ours.data, theirs, rtol=tolerance, atol=tolerance, err_msg=f"{case}: {node.name} input {position}"
            )
            checked += 1
    assert checked, f"{case}: no node's vjp was compared"


@pytest.mark.parametrize("case", TORCH_CASES, ids=str)
def test_second_derivatives_match_torch(case: OpCase, torch: Any, rng: np.random.Generator) -> None:
    setup = Setup(case, rng)
    ours, theirs = second_derivatives(setup), torch_second_derivatives(setup, torch)
    for position, (mine, reference) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(mine, reference, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"{case}: input {position}")


@pytest.mark.parametrize("case", [case for case in CASES if case.finite_differences], ids=str)
def test_second_derivatives_match_finite_differences_of_the_gradient(case: OpCase, rng: np.random.Generator) -> None:
    setup = Setup(case, rng)
    ours = second_derivatives(setup)

    def weighted_gradient(*tensors: cr.Tensor) -> float:
        gradients = setup.first_order_gradients([t.data for t in tensors])
        return float(sum(np.sum(g * u) for g, u in zip(gradients, setup.u)))

    numeric = numerical_gradient(weighted_gradient, *setup.arrays)
    for position, (mine, expected) in enumerate(zip(ours, numeric)):
        error = relative_error(mine, expected)
        assert error < 1e-6, f"{case}: input {position} relative error {error:.2e}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_over_reverse_gives_the_hessian_vector_product_of_reverse_over_reverse(case, rng) -> None:
    """The jvp of the graph the vjps built (the HVP as jax.hvp computes it) equals Σ tangent ⊙ second derivatives."""
    setup = Setup(case, rng)
    expected = sum(float(np.sum(second * t)) for second, t in zip(second_derivatives(setup), setup.tangents))
    leaves, total = weighted_vjp(setup)
    ours = 0.0 if total is None else jvp_through(total, leaves, [cr.tensor(t) for t in setup.tangents]).item()
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12), case


# PyTorch's third derivatives of batch_norm and layer_norm disagree with finite differences of its own second
# derivatives (its hand-written double backward is not differentiated right); ours are checked against finite
# differences instead (test_ops_normalization.py).
THIRD_ORDER_CASES = [case for case in TORCH_CASES if not case.name.startswith(("batch_norm", "layer_norm"))]


@pytest.mark.parametrize("case", THIRD_ORDER_CASES, ids=str)
def test_third_derivatives_match_torch(case: OpCase, torch: Any, rng: np.random.Generator) -> None:
    """Reverse over reverse over reverse: the vjps of the ops the vjps are written with, against PyTorch."""
    setup = Setup(case, rng)
    weights = [rng.normal(size=a.shape) for a in setup.arrays]
    leaves, total = weighted_vjp(setup)
    ours = [np.zeros(a.shape) for a in setup.arrays]
    if total is not None and total.requires_grad:
        seconds = vjp_through(total, leaves, cr.tensor(1.0))
        terms = [(g * w).sum() for g, w in zip(seconds, weights) if g is not None]
        third = sum(terms[1:], terms[0]) if terms else None
        if third is not None and third.requires_grad:
            third.backward()
            ours = [np.zeros(leaf.shape) if leaf.grad is None else leaf.grad for leaf in leaves]

    torch_leaves = setup.torch_leaves(torch)
    out = case.torch(*torch_leaves, **setup.constants)
    expected = [np.zeros(a.shape) for a in setup.arrays]
    grads = torch.autograd.grad(out, torch_leaves, torch.tensor(setup.v), create_graph=True, allow_unused=True)
    second_total = sum((g * torch.tensor(u)).sum() for g, u in zip(grads, setup.u) if g is not None)
    if torch.is_tensor(second_total) and second_total.requires_grad:
        seconds = torch.autograd.grad(second_total, torch_leaves, create_graph=True, allow_unused=True)
        third_total = sum((g * torch.tensor(w)).sum() for g, w in zip(seconds, weights) if g is not None)
        if torch.is_tensor(third_total) and third_total.requires_grad:
            thirds = torch.autograd.grad(third_total, torch_leaves, allow_unused=True)
            expected = [np.zeros(a.shape) if t is None else t.numpy(force=True) for t, a in zip(thirds, setup.arrays)]
    for position, (mine, reference) in enumerate(zip(ours, expected)):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-9, err_msg=f"{case}: input {position}")


def tangent_out(setup: Setup) -> np.ndarray:
    leaves, out = setup.run()
    return jvp_through(out, leaves, [cr.tensor(t) for t in setup.tangents]).data


@pytest.mark.parametrize("case", TORCH_CASES, ids=str)
def test_jvp_matches_torch_func_jvp(case: OpCase, torch: Any, rng: np.random.Generator) -> None:
    setup = Setup(case, rng)
    ours = tangent_out(setup)
    expected = torch_jvp(torch, lambda *xs: setup.case.torch(*xs, **setup.constants), setup.arrays, setup.tangents)
    np.testing.assert_allclose(ours, expected, rtol=TOLERANCE, atol=TOLERANCE, err_msg=str(case))


@pytest.mark.parametrize("case", [case for case in CASES if case.finite_differences], ids=str)
def test_jvp_matches_finite_differences_of_the_forward(case: OpCase, rng: np.random.Generator) -> None:
    setup = Setup(case, rng)
    ours = tangent_out(setup)
    step = 1e-6
    with cr.no_grad():
        ahead = setup.case.chainrule(
            *(cr.tensor(a + step * t) for a, t in zip(setup.arrays, setup.tangents)), **setup.constants
        )
        behind = setup.case.chainrule(
            *(cr.tensor(a - step * t) for a, t in zip(setup.arrays, setup.tangents)), **setup.constants
        )
    numeric = (ahead.data - behind.data) / (2 * step)
    error = relative_error(ours, numeric)
    assert error < 1e-6, f"{case}: relative error {error:.2e}"


@settings(max_examples=40, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_ops_under_any_broadcasting_match_torch(shapes, op, seed, torch) -> None:
    """Any broadcastable pair: the second derivatives and the JVP equal PyTorch's."""
    rng = np.random.default_rng(seed)
    ours, theirs = BINARY[op]
    setup = Setup(OpCase(op, ours, theirs, list(shapes.input_shapes), ["positive", "positive"]), rng)
    for mine, reference in zip(second_derivatives(setup), torch_second_derivatives(setup, torch)):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=TOLERANCE, atol=TOLERANCE)
    expected = torch_jvp(torch, theirs, setup.arrays, setup.tangents)
    np.testing.assert_allclose(tangent_out(setup), expected, rtol=TOLERANCE, atol=TOLERANCE)


def op_classes() -> list[type[Function]]:
    """Every Function subclass defined in a module of chainrule.ops."""
    import importlib
    import pkgutil

    classes = []
    for module_info in pkgutil.iter_modules(cr.ops.__path__):
        module = importlib.import_module(f"chainrule.ops.{module_info.name}")
        for item in vars(module).values():
            if inspect.isclass(item) and issubclass(item, Function) and item.__module__ == module.__name__:
                classes.append(item)
    return classes


def test_every_op_with_a_gradient_has_a_vjp_and_a_jvp() -> None:
    missing = []
    for op in op_classes():
        if op.__name__ in WITHOUT_GRADIENT | WITHOUT_HIGHER_ORDER_YET:
            continue
        for method in ("vjp", "jvp"):
            if getattr(op, method) is getattr(Function, method):
                missing.append(f"{op.__module__}.{op.__name__}.{method}")
    assert not missing, "ops without a differentiable rule: " + ", ".join(missing)
    assert len(op_classes()) > 30


def torch_functional() -> Any:
    import torch.nn.functional as functional

    return functional


def special_setup(ours: Any, theirs: Any, arrays: list[np.ndarray]) -> Setup:
    """A setup at chosen points, with every weight and tangent 1: the sums of rows of the Hessian."""
    setup = Setup.__new__(Setup)
    setup.case = OpCase("special points", ours, theirs, [a.shape for a in arrays])
    setup.arrays, setup.constants = arrays, {}
    with cr.no_grad(), np.errstate(all="ignore"):
        setup.v = np.ones(ours(*(cr.tensor(a) for a in arrays)).shape)
    setup.u = setup.tangents = [np.ones(a.shape) for a in arrays]
    return setup


SPREAD = np.array([-1e5, 1000.0, 0.0, 1e5])  # logits further apart than e^x can hold
HUGE = np.array([-1e308, -1000.0, 0.0, 1000.0, 1e308])
# Points where an op is not smooth or its naive form overflows: finite values, computed without a warning.
SILENT_POINTS = {
    "abs at 0": (cr.abs, lambda x: x.abs(), [np.array([0.0, 1.0, -1.0])]),
    "relu at 0": (cr.relu, lambda x: x.relu(), [np.array([0.0, 1.0, -1.0])]),
    "leaky_relu at 0": (
        lambda x: cr.leaky_relu(x, 0.1),
        lambda x: torch_functional().leaky_relu(x, 0.1),
        [np.array([0.0, 1.0, -1.0])],
    ),
    "clip at its bounds": (
        lambda x: cr.clip(x, -1.0, 1.0),
        lambda x: x.clamp(-1.0, 1.0),
        [np.array([-1.0, 1.0, 0.0, 2.0])],
    ),
    "maximum at ties": (cr.maximum, lambda a, b: a.maximum(b), [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])]),
    "minimum at ties": (cr.minimum, lambda a, b: a.minimum(b), [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])]),
    "max at ties": (lambda x: x.max(axis=1), lambda x: x.amax(dim=1), [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    **{
        f"x**{p} at 0": (lambda x, p=p: x**p, lambda x, p=p: x**p, [np.array([0.0, 1.0, 2.0])])
        for p in (0, 1, 2, 3, 2.5)
    },
    "sigmoid of huge inputs": (cr.sigmoid, lambda x: x.sigmoid(), [HUGE]),
    "tanh of huge inputs": (cr.tanh, lambda x: x.tanh(), [HUGE]),
    "softplus of huge inputs": (cr.softplus, lambda x: torch_functional().softplus(x), [HUGE]),
    "binary_cross_entropy of huge logits": (
        lambda x: cr.binary_cross_entropy(x, np.array([0.0, 1.0, 0.5, 1.0, 0.0]), from_logits=True),
        lambda x: torch_functional().binary_cross_entropy_with_logits(x, x.new_tensor([0.0, 1.0, 0.5, 1.0, 0.0])),
        [HUGE],
    ),
    "softmax of huge logits": (cr.softmax, lambda x: x.softmax(dim=-1), [SPREAD]),
    "log_softmax of huge logits": (cr.log_softmax, lambda x: x.log_softmax(dim=-1), [SPREAD]),
    "logsumexp of huge logits": (cr.logsumexp, lambda x: x.logsumexp(dim=-1), [SPREAD]),
    "cross_entropy of huge logits": (
        lambda x: cr.cross_entropy(x, np.array(1)),
        lambda x: torch_functional().cross_entropy(x, __import__("torch").tensor(1)),
        [SPREAD],
    ),
}
# Points where a derivative is infinite or undefined: inf and nan exactly where PyTorch has them.
SINGULAR_POINTS = {
    **{f"x**{p} at 0": (lambda x, p=p: x**p, lambda x, p=p: x**p, [np.array([0.0, 1.0, 2.0])]) for p in (1.5, 0.5, -1)},
    "sqrt at 0": (cr.sqrt, lambda x: x.sqrt(), [np.array([0.0, 1.0])]),
    "log at 0": (cr.log, lambda x: x.log(), [np.array([0.0, 1.0])]),
    "division by 0": (lambda a, b: a / b, lambda a, b: a / b, [np.array([1.0, 0.0]), np.array([0.0, 0.0])]),
}


@pytest.mark.parametrize("name", sorted(SILENT_POINTS))
def test_second_derivatives_and_jvps_at_kinks_and_huge_inputs_are_finite_silent_and_torchs(name, torch) -> None:
    ours, theirs, arrays = SILENT_POINTS[name]
    setup = special_setup(ours, theirs, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            seconds, tangent = second_derivatives(setup), tangent_out(setup)
    for mine, reference in zip(seconds, torch_second_derivatives(setup, torch)):
        assert np.all(np.isfinite(mine)), f"{name}: {mine}"
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-300, err_msg=name)
    np.testing.assert_allclose(tangent, torch_jvp(torch, theirs, arrays, setup.tangents), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", sorted(SINGULAR_POINTS))
def test_infinite_second_derivatives_and_jvps_are_where_torch_has_them(name, torch) -> None:
    ours, theirs, arrays = SINGULAR_POINTS[name]
    setup = special_setup(ours, theirs, arrays)
    with np.errstate(all="ignore"):
        seconds, tangent = second_derivatives(setup), tangent_out(setup)
    for mine, reference in zip(seconds, torch_second_derivatives(setup, torch)):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, err_msg=name)  # nan equals nan, inf inf
        assert not np.all(np.isfinite(mine)), f"{name}: the singular point was not reached"
    np.testing.assert_allclose(tangent, torch_jvp(torch, theirs, arrays, setup.tangents), rtol=1e-12, err_msg=name)


def test_pow_of_tensors_at_base_0_gives_the_limits_where_torch_gives_nan(torch) -> None:
    """At a = 0, b ∈ {2, 2.5, 3}: ∂²aᵇ/∂a² = b(b−1)aᵇ⁻² → 2, 0, 0 and every other second derivative → 0.

    PyTorch's double backward multiplies a masked 0 by ln 0 = −inf there and gives nan; chainrule's
    masked places compute with base 1, so the limits come out, equal to those of x**b for a number b.
    """
    setup = special_setup(lambda a, b: a**b, lambda a, b: a**b, [np.zeros(3), np.array([2.0, 2.5, 3.0])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            along_a, along_b = second_derivatives(setup)
    np.testing.assert_array_equal(along_a, [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(along_b, [0.0, 0.0, 0.0])
    assert np.all(np.isnan(torch_second_derivatives(setup, torch)[0]))  # what PyTorch 2.13 gives instead
