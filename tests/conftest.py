"""Shared fixtures: seeded randomness and PyTorch as an independent oracle.

With CHAINRULE_REQUIRE_TORCH=1 (set by .ci/run) a missing torch fails every test that
needs it instead of skipping it.
"""

from __future__ import annotations

import os
import shutil

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


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from the system (Debian's ``chromium``), driven by Playwright; never a downloaded browser.

    With CHAINRULE_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser or Playwright fails instead of skipping.
    """

    def missing(why: str) -> None:
        if os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CHAINRULE_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing('playwright is not installed (pip install -e ".[test]")')
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        missing("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()
