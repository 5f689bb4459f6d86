"""The scalar network derived by hand in the seed report: every number, against PyTorch too."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.examples import scalar_network as seed


def rounds_to(value: float, published: float) -> bool:
    """True when ``value`` rounded like ``published`` (same number of decimals) gives ``published``."""
    decimals = len(f"{published:.10f}".rstrip("0").split(".")[1])
    return round(value, decimals) == published


def test_forward_values_match_the_hand_derivation() -> None:
    _, nodes = seed.build()
    for name, published in seed.SEED_VALUES.items():
        assert rounds_to(nodes[name].item(), published), (name, nodes[name].item(), published)


def test_backward_values_match_the_hand_derivation() -> None:
    loss, nodes = seed.build()
    explanation = cr.explain(loss)
    chain = {row.name: row.gradient.item() for row in explanation.backward}
    assert rounds_to(chain["yhat"], seed.SEED_BACKWARD["dDiv/dyhat"])
    assert rounds_to(chain["s3"], seed.SEED_BACKWARD["dDiv/ds3"])
    assert rounds_to(chain["h1"], seed.SEED_BACKWARD["dDiv/dh1"])
    assert rounds_to(chain["s1"], seed.SEED_BACKWARD["dDiv/ds1"])
    loss.backward()
    assert rounds_to(nodes["w1"].grad.item(), seed.SEED_BACKWARD["dDiv/dw1"])


def test_all_six_partials_against_torch(torch) -> None:
    loss, nodes = seed.build()
    loss.backward()
    x = [torch.tensor(v) for v in seed.X]
    w = [torch.tensor(v, requires_grad=True) for v in seed.W]
    h1 = torch.sigmoid(x[0] * w[0] + x[1] * w[1])
    h2 = torch.sigmoid(x[2] * w[2] + x[3] * w[3])
    yhat = torch.sigmoid(h1 * w[4] + h2 * w[5])
    divergence = (yhat - seed.Y) ** 2
    divergence.backward()
    assert loss.item() == pytest.approx(divergence.item(), rel=1e-15)
    ours = [nodes[f"w{i}"].grad.item() for i in range(1, 7)]
    np.testing.assert_allclose(ours, [t.grad.item() for t in w], rtol=1e-13)


def test_divergence_as_a_function_of_the_weights() -> None:
    grads = cr.grad(seed.divergence, argnums=(0, 1, 2, 3, 4, 5))(*seed.W)
    loss, nodes = seed.build()
    loss.backward()
    assert list(grads) == [nodes[f"w{i}"].grad for i in range(1, 7)]
    assert cr.check.gradcheck(seed.divergence, *seed.W).passed
