"""Random programs (tests/test_random_programs.py's generator) differentiated twice and in forward mode, against PyTorch.

For every program: the Hessian-vector product of its loss with respect to its inputs that require
grad (a random direction; reverse over reverse, through the recorded backward pass) against
``torch.autograd.grad(..., create_graph=True)`` twice, and the forward-mode tangent of the loss
(``cr.jvp``) against ``torch.func.jvp``, in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given, note

import chainrule as cr
from oracles import torch_jvp
from test_random_programs import (
    CONFIG,
    Program,
    assume_same_sides_of_kinks,
    close,
    our_namespace,
    programs,
    repro,
    their_namespace,
)


def hessian_vector_products(loss: Any, leaves: list[Any], directions: list[np.ndarray], grad: Any, zeros: Any) -> list:
    """∇(⟨∇loss, v⟩) for each leaf, by the library's own autograd.grad (``grad``); zeros where nothing depends."""
    first = grad(loss, leaves, create_graph=True, allow_unused=True)
    total = None
    for gradient, direction in zip(first, directions):
        if gradient is not None and gradient.requires_grad:
            term = (gradient * direction).sum()
            total = term if total is None else total + term
    if total is None:
        return [zeros(leaf) for leaf in leaves]
    second = grad(total, leaves, allow_unused=True)
    return [zeros(leaf) if g is None else g for g, leaf in zip(second, leaves)]


def check_second_order(program: Program, torch: Any, tolerance: float) -> None:
    assume(program.values != "wide" and "extreme" not in program.features)  # huge curvatures overflow either way
    rng = np.random.default_rng(program.seed)
    arrays = program.inputs_for(rng, np.float64)
    note(repro(program, arrays))
    wanted = [i for i, name in enumerate(program.inputs) if program.requires_grad[name]]
    directions = [rng.normal(size=arrays[i].shape) for i in wanted]

    theirs = [torch.tensor(x, requires_grad=program.requires_grad[n]) for n, x in zip(program.inputs, arrays)]
    their_loss, their_values = program.function("theirs", their_namespace(program, np.float64, torch), values=True)(
        *theirs
    )
    assume(their_loss.requires_grad)
    their_products = hessian_vector_products(
        their_loss,
        [theirs[i] for i in wanted],
        [torch.tensor(d) for d in directions],
        torch.autograd.grad,
        lambda t: torch.zeros_like(t),
    )
    their_products = [p.detach().numpy(force=True) for p in their_products]
    assume(all(np.isfinite(p).all() for p in their_products))

    ours = [cr.tensor(x, requires_grad=program.requires_grad[n]) for n, x in zip(program.inputs, arrays)]
    our_loss, our_values = program.function("ours", our_namespace(program, np.float64), values=True)(*ours)
    names = [*program.inputs, *(s.name for s in program.steps)]
    assume_same_sides_of_kinks(program, np.float64, names, our_values, [v.detach().numpy() for v in their_values])
    our_products = hessian_vector_products(
        our_loss, [ours[i] for i in wanted], directions, cr.autograd.grad, lambda t: cr.tensor(np.zeros(t.shape))
    )
    for i, mine, expected in zip(wanted, our_products, their_products):
        close(mine.data, expected, tolerance, f"Hessian-vector product for {list(program.inputs)[i]}")

    # forward mode: the loss's tangent along the same directions (inputs that do not require grad stay fixed)
    def fixed(function: Any, values: list[Any]) -> Any:
        def of_wanted(*moving: Any) -> Any:
            arguments = list(values)
            for i, value in zip(wanted, moving):
                arguments[i] = value
            return function(*arguments)

        return of_wanted

    torch_function = program.function("theirs", their_namespace(program, np.float64, torch))
    expected = torch_jvp(
        torch, fixed(torch_function, [torch.tensor(x) for x in arrays]), [arrays[i] for i in wanted], directions
    )
    our_function = program.function("ours", our_namespace(program, np.float64))
    _, tangent = cr.jvp(fixed(our_function, [cr.tensor(x) for x in arrays]), [arrays[i] for i in wanted], directions)
    close(np.asarray(tangent), expected, tolerance, "tangent of the loss")


@CONFIG
@given(program=programs())
def test_random_programs_second_derivatives_and_tangents_match_torch(program: Program, torch: Any) -> None:
    check_second_order(program, torch, 1e-8)
