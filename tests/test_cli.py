"""The chainrule command line, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chainrule.cli import main


def test_demo_abc_prints_the_seed_numbers(capsys) -> None:
    assert main(["demo", "abc", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "loss L = 44.061213140343526" in out
    assert "14.65610661598256" in out  # dL/dC[0, 0] as published
    assert "largest difference overall:" in out
    assert "Column convention" in out
    assert "step   20" in out and "loss fell from" in out


def test_installed_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "demo", "abc", "--steps", "2", "--samples", "10"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "44.061213140343526" in result.stdout


def test_bad_arguments_are_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "abc", "--steps", "0"])
    assert exit_info.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err
