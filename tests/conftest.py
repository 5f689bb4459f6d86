"""Shared fixtures: seeded randomness and PyTorch as an independent oracle.

With CHAINRULE_REQUIRE_TORCH=1 (set by .ci/run) a missing torch fails every test that
needs it instead of skipping it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def torch():
    try:
        import torch as torch_module
    except ImportError:
        if os.environ.get("CHAINRULE_REQUIRE_TORCH") == "1":
            pytest.fail('CHAINRULE_REQUIRE_TORCH=1 but torch is not installed: pip install -e ".[test]"')
        pytest.skip('torch is not installed (pip install -e ".[test]")')
    torch_module.set_default_dtype(torch_module.float64)
    return torch_module
