"""Random composite graphs: chainrule's gradients equal PyTorch's to 1e-10 in float64.

Hypothesis writes small programs (which op, applied to which earlier results); the same
program runs on both engines and every leaf's gradient is compared.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

UNARY = ["sigmoid", "tanh", "softplus", "neg", "square", "log_softmax", "softmax", "exp_tanh", "sum_rows", "mean"]
BINARY = ["add", "sub", "mul", "matmul", "div_shifted", "maximum"]

program_steps = st.lists(
    st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=14
)


def run(program, leaves, library):
    """Run ``program`` with ``library`` (a dict of the ops for one engine); returns all results."""
    pool = list(leaves)
    for op, first, second in program:
        a, b = pool[first % len(pool)], pool[second % len(pool)]
        if op in BINARY:
            if op == "matmul" and not (
                a.ndim >= 1 and b.ndim >= 1 and a.shape[-1] == b.shape[0] and a.ndim + b.ndim > 2
            ):
                op = "add"
            pool.append(library[op](a, b))
        else:
            pool.append(library[op](a))
    return pool


# Written with Python operators and methods that both engines share.
OPERATORS = {
    "neg": lambda a: -a,
    "square": lambda a: a * a,
    "mean": lambda a: a.mean(),
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "div_shifted": lambda a, b: a / (b * b + 1.0),
}

CHAINRULE = {
    **OPERATORS,
    "sigmoid": cr.sigmoid,
    "tanh": cr.tanh,
    "softplus": cr.softplus,
    "log_softmax": lambda a: cr.log_softmax(a) if a.ndim else a,
    "softmax": lambda a: cr.softmax(a, axis=0) if a.ndim else a,
    "exp_tanh": lambda a: cr.exp(cr.tanh(a)),
    "sum_rows": lambda a: a.sum(axis=-1) if a.ndim else a,
    "maximum": cr.maximum,
}


def torch_library(torch):
    return {
        **OPERATORS,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softplus": torch.nn.functional.softplus,
        "log_softmax": lambda a: a.log_softmax(-1) if a.ndim else a,
        "softmax": lambda a: a.softmax(0) if a.ndim else a,
        "exp_tanh": lambda a: torch.exp(torch.tanh(a)),
        "sum_rows": lambda a: a.sum(-1) if a.ndim else a,
        "maximum": torch.maximum,
    }


@settings(max_examples=60, deadline=None)
@given(program=program_steps, seed=st.integers(0, 2**32 - 1))
def test_random_graph_gradients_match_torch(program, seed, torch) -> None:
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3,)), rng.normal(size=())]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    our_pool = run(program, ours, CHAINRULE)
    their_pool = run(program, theirs, torch_library(torch))
    weights = [rng.normal(size=node.shape) for node in our_pool[len(arrays) :]]
    sum(((node * w).sum() for node, w in zip(our_pool[len(arrays) :], weights)), start=cr.tensor(0.0)).backward()
    sum((node * torch.tensor(w)).sum() for node, w in zip(their_pool[len(arrays) :], weights)).backward()
    for node, reference in zip(our_pool, their_pool):
        np.testing.assert_allclose(node.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
    for leaf, reference in zip(ours, theirs):
        expected = reference.grad.numpy() if reference.grad is not None else np.zeros(leaf.shape)
        actual = leaf.grad if leaf.grad is not None else np.zeros(leaf.shape)
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)
