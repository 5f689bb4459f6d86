"""The two independent references every op is checked against: finite differences and PyTorch.

An op case is checked through a scalar: L = Σ op(inputs) ⊙ W with a random weight W, so the
backward sees a non-trivial ``grad_out`` (the vector in the vector-Jacobian product).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import numerical_gradient


def make_input(rng: np.random.Generator, shape: tuple[int, ...], kind: str = "any") -> np.ndarray:
    """Random float64 values chosen away from the points where an op is not differentiable."""
    if kind == "any":
        return rng.normal(size=shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if kind == "nonzero":  # magnitude in [0.2, 1.5], either sign: away from kinks at 0
        return rng.uniform(0.2, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if kind == "distinct":  # no two values within 0.05: no ties for max/min
        count = int(np.prod(shape))
        return (rng.permutation(count) * 0.1 - count * 0.05).reshape(shape) + rng.uniform(0, 0.05)
    if kind == "probability":
        return rng.uniform(0.05, 0.95, size=shape)
    raise ValueError(kind)


@dataclass
class OpCase:
    """One op applied to inputs of given shapes, written for chainrule and for PyTorch."""

    name: str
    chainrule: Callable[..., Any]
    torch: Callable[..., Any]
    shapes: list[tuple[int, ...]]
    kinds: list[str] = field(default_factory=list)
    constants: Callable[[np.random.Generator], dict] | None = None  # non-differentiable arguments
    finite_differences: bool = True  # False where a float32 round trip makes differences meaningless

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        kinds = self.kinds or ["any"] * len(self.shapes)
        return [make_input(rng, shape, kind) for shape, kind in zip(self.shapes, kinds)]

    def __str__(self) -> str:
        return self.name


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual − expected| / max(|actual|, |expected|) over all elements (0 when both are 0)."""
    difference = float(np.max(np.abs(actual - expected), initial=0.0))
    scale = max(float(np.max(np.abs(actual), initial=0.0)), float(np.max(np.abs(expected), initial=0.0)))
    return 0.0 if difference == 0 else difference / scale


def weighted(out: Any, weights: np.ndarray) -> Any:
    return (out * weights).sum()


def check_finite_differences(case: OpCase, rng: np.random.Generator, tolerance: float = 1e-6) -> None:
    arrays = case.inputs(rng)
    constants = case.constants(rng) if case.constants else {}
    weights = rng.normal(size=case.chainrule(*(cr.tensor(a) for a in arrays), **constants).shape)
    leaves = [cr.tensor(a, requires_grad=True) for a in arrays]
    weighted(case.chainrule(*leaves, **constants), weights).backward()
    numeric = numerical_gradient(lambda *xs: weighted(case.chainrule(*xs, **constants), weights), *arrays)
    for position, (leaf, expected) in enumerate(zip(leaves, numeric)):
        assert leaf.grad is not None, f"{case.name}: no gradient for input {position}"
        assert leaf.grad.shape == leaf.shape, f"{case.name}: gradient shape {leaf.grad.shape} for input {leaf.shape}"
        error = relative_error(leaf.grad, expected)
        assert error < tolerance, f"{case.name}: input {position} relative error {error:.2e}"


def check_against_torch(case: OpCase, torch: Any, rng: np.random.Generator, tolerance: float = 1e-10) -> None:
    arrays = case.inputs(rng)
    constants = case.constants(rng) if case.constants else {}
    leaves = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = case.chainrule(*leaves, **constants)
    weights = rng.normal(size=out.shape)
    weighted(out, weights).backward()

    torch_leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    torch_out = case.torch(*torch_leaves, **constants)
    (torch_out * torch.tensor(weights)).sum().backward()

    np.testing.assert_allclose(out.data, torch_out.detach().numpy(), rtol=tolerance, atol=tolerance, err_msg=case.name)
    for position, (leaf, torch_leaf) in enumerate(zip(leaves, torch_leaves)):
        expected = torch_leaf.grad.numpy() if torch_leaf.grad is not None else np.zeros(leaf.shape)
        np.testing.assert_allclose(
            leaf.grad, expected, rtol=tolerance, atol=tolerance, err_msg=f"{case.name}: input {position}"
        )


def op_tests(cases: list[OpCase]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two parametrized tests every op module runs: finite differences and PyTorch.

    Use as ``test_finite_differences, test_torch = op_tests(CASES)`` in a test module.
    """

    @pytest.mark.parametrize("case", [c for c in cases if c.finite_differences], ids=str)
    def test_gradient_matches_finite_differences(case: OpCase, rng: np.random.Generator) -> None:
        check_finite_differences(case, rng)

    @pytest.mark.parametrize("case", [c for c in cases if c.torch is not None], ids=str)
    def test_gradient_matches_torch(case: OpCase, torch: Any, rng: np.random.Generator) -> None:
        check_against_torch(case, torch, rng)

    return test_gradient_matches_finite_differences, test_gradient_matches_torch


class Float64Gradient(cr.Function):
    """A user's op whose backward returns float64 (a third of grad_out) whatever its input's dtype.

    It declares exact gradients (one array per input) so that a trace replays it without checks,
    and lets the tests see how float32 sums meet a float64 gradient: they promote, as NumPy adds.
    """

    exact_gradients = True

    def forward(self, x):
        return x.copy()

    def backward(self, grad_out):
        return grad_out.astype(np.float64) / 3


def graph_tensors(out: cr.Tensor) -> list[cr.Tensor]:
    """The tensors of ``out``'s graph, each after the inputs of the op that made it (``out`` last)."""
    order: list[cr.Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[cr.Tensor, bool]] = [(out, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
        elif id(tensor) not in seen:
            seen.add(id(tensor))
            stack.append((tensor, True))
            for item in tensor.grad_fn.inputs if tensor.grad_fn is not None else ():
                stack.append((item, False))
    return order


def vjp_through(out: cr.Tensor, leaves: list[cr.Tensor], grad_out: cr.Tensor) -> list[cr.Tensor | None]:
    """The gradients of Σ out ⊙ grad_out with respect to ``leaves``, from every node's ``vjp``: tensors with a graph.

    A test's reference walk of the graph (the engine's ``create_graph=True`` does the same), summing each
    gradient back to its input's shape with ``cr.sum_to``.
    """
    gradients: dict[int, cr.Tensor] = {id(out): grad_out}
    for tensor in reversed(graph_tensors(out)):
        node, gradient = tensor.grad_fn, gradients.get(id(tensor))
        if node is None or gradient is None:
            continue
        results = node.vjp(gradient, *node.inputs)
        results = results if isinstance(results, tuple) else (results,)
        for item, result in zip(node.inputs, results):
            if result is None or not item.requires_grad:
                continue
            if result.shape != item.shape:
                result = cr.sum_to(result, item.shape)
            previous = gradients.get(id(item))
            gradients[id(item)] = result if previous is None else previous + result
    return [gradients.get(id(leaf)) for leaf in leaves]


def jvp_through(out: cr.Tensor, leaves: list[cr.Tensor], tangents: list[cr.Tensor]) -> cr.Tensor:
    """The tangent of ``out`` when ``leaves`` move along ``tangents``, from every node's ``jvp`` (zeros elsewhere)."""
    found: dict[int, cr.Tensor] = {id(leaf): tangent for leaf, tangent in zip(leaves, tangents)}
    for tensor in graph_tensors(out):
        if id(tensor) in found:
            continue
        node = tensor.grad_fn
        if node is None:
            dtype = tensor.dtype if tensor.dtype.kind == "f" else np.float64
            found[id(tensor)] = cr.tensor(np.zeros(tensor.shape, dtype))
        else:
            found[id(tensor)] = node.jvp(tuple(found[id(item)] for item in node.inputs), *node.inputs)
    return found[id(out)]


def torch_jvp(torch: Any, function: Any, arrays: list[np.ndarray], tangents: list[np.ndarray]) -> np.ndarray:
    """The output's tangent by ``torch.func.jvp``: the forward-mode oracle."""
    with warnings.catch_warnings():  # torch's first forward-mode call scripts decompositions with deprecated torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        _, tangent = torch.func.jvp(
            function, tuple(torch.tensor(a) for a in arrays), tuple(torch.tensor(t) for t in tangents)
        )
    return tangent.numpy(force=True)


def torch_hessian(torch: Any, function: Any, x: np.ndarray) -> np.ndarray:
    """The Hessian by ``torch.func.hessian`` (forward over reverse mode), as an array."""
    with warnings.catch_warnings():  # as in torch_jvp: its forward mode scripts with deprecated torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.func.hessian(function)(torch.tensor(x)).numpy(force=True)


class Cube(cr.Function):
    """d/dx x³ = 3x² (a user's op written for first order only: forward and a NumPy backward, no vjp or jvp)"""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, grad_out):
        return grad_out * 3 * self.x**2
