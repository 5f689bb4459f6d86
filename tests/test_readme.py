"""The README's two commands stay true: CI runs exactly the test command the README gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The main job and the test command: the two bash blocks after the virtual environment's."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [block.strip() for block in blocks[1:3]]


def test_readme_opens_with_a_virtual_environment_then_the_main_job_and_the_test_command() -> None:
    first = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)[0]
    assert first.strip() == "python3 -m venv .venv && . .venv/bin/activate"
    main_job, test_command = readme_commands()
    assert main_job == "pip install . && chainrule demo abc"
    assert "pytest" in test_command and ".[test]" in test_command


def test_ci_runs_the_readme_test_command_with_torch_required() -> None:
    _, test_command = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
    assert "export CHAINRULE_REQUIRE_TORCH=1" in ci


def test_the_30_second_example_prints_what_the_readme_says(capsys) -> None:
    import pytest

    import chainrule as cr

    block = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)[0]
    working, mistake = block.split("# mistakes are named where they are made")
    namespace: dict = {}
    exec(working, namespace)  # noqa: S102 - the README's own example
    printed = capsys.readouterr().out.splitlines()
    promised = [line.split("# ", 1)[1].strip() for line in working.splitlines() if line.startswith("print(")]
    assert printed[0] == promised[0]  # the loss
    assert " ".join(" ".join(printed[1:]).split()) == " ".join(promised[1].split())  # W.grad, rows on one line
    code, expected = [line for line in mistake.strip().splitlines() if line]
    with pytest.raises(cr.ShapeError) as error:
        exec(code, namespace)  # noqa: S102
    assert f"ShapeError: {error.value}" == expected.lstrip("# ")


def test_the_error_table_shows_the_messages_chainrule_gives() -> None:
    import numpy as np

    import chainrule as cr
    from oracles import Cube

    class MyOp(cr.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, grad_out):
            return grad_out

    def freed() -> None:
        loss = (cr.tensor([1.0], requires_grad=True) * 2).sum()
        loss.backward()
        loss.backward()

    def update_outside_no_grad() -> None:
        w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
        w -= 0.1 * np.ones(2)

    def step_before_backward() -> None:
        w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
        loss = (w * w).sum()
        w.grad = np.ones(2)
        cr.optim.SGD([w], lr=0.1).step()
        loss.backward()

    cases = [
        lambda: cr.tensor(np.ones((3, 4))) @ cr.tensor(np.ones((3, 3))),
        lambda: cr.tensor(np.ones(3)) + cr.tensor(np.ones(4)),
        lambda: (cr.tensor([1.0, 2.0], requires_grad=True) * 2).backward(),
        freed,
        lambda: cr.tensor([1, 2], dtype=np.int64, requires_grad=True),
        lambda: cr.tensor([1.0]) + "3",
        lambda: cr.sum(cr.tensor(np.ones((3, 4))), axis=2),
        lambda: cr.mse(cr.tensor(np.ones((3, 1))), np.ones(3)),
        lambda: MyOp.apply(cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)).sum().backward(),
        update_outside_no_grad,
        step_before_backward,
        lambda: cr.hessian(lambda x: Cube.apply(x).sum())([1.0, 2.0]),
    ]
    readme = (ROOT / "README.md").read_text()
    for case in cases:
        try:
            case()
        except cr.ChainruleError as error:
            shown = f"`{type(error).__name__}: {error}`"
            assert shown in readme, shown
        else:
            raise AssertionError("no error raised")


def test_the_demo_prints_what_the_readme_shows(capsys) -> None:
    import os
    import subprocess
    import sys

    from chainrule.cli import main

    readme = (ROOT / "README.md").read_text()
    shown = readme.split("`chainrule demo abc` prints:\n\n```text\n", 1)[1].split("```", 1)[0]
    assert main(["demo", "abc"]) == 0
    printed = capsys.readouterr().out.splitlines()
    for line in shown.splitlines()[:-1]:
        assert line in ("", "...") or line in printed, line
    training = readme.split("vectorised over the batch:\n\n```text\n", 1)[1].split("```", 1)[0]
    for line in training.splitlines():
        assert line == "  ..." or line in printed, line
    # The last digit of x·A, and so the overall difference, depends on the kernel OpenBLAS picks for
    # the CPU: the README must name what this machine prints and what Haswell's kernel (no AVX-512) prints.
    haswell = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "demo", "abc", "--steps", "1"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OPENBLAS_CORETYPE": "Haswell"},
    )  # another BLAS ignores the variable; a CPU older than Haswell cannot run its kernel
    for output in (printed, haswell.stdout.splitlines() if haswell.returncode == 0 else printed):
        overall = next(line for line in output if line.startswith("largest difference overall:"))
        assert overall == shown.splitlines()[-1] or f"`{overall}`" in readme, overall


def test_install_hints_say_what_the_readme_says() -> None:
    """Every ``pip install`` in the package installs an extra from the chainrule folder, as the README does."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    readme = (ROOT / "README.md").read_text()
    hints = [
        (path.name, hint)
        for path in sorted((ROOT / "src" / "chainrule").rglob("*.py"))
        for hint in re.findall(r"pip install [^\s`]+", path.read_text())
    ]
    assert {name for name, _ in hints} >= {"plot.py", "draw.py", "train.py"}
    for name, hint in hints:
        extra = re.fullmatch(r'pip install "\.\[(\w+)\]"', hint)
        assert extra and extra.group(1) in extras and extra.group(1) in readme, (name, hint)
    assert "apt-get install graphviz" in readme.replace("\n", " ")


def test_the_gradients_of_gradients_section_runs_and_shows_true_values(capsys) -> None:
    import numpy as np

    from chainrule.cli import main

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Gradients of gradients", 1)[1]
    block = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - the README's own example
    cr = namespace["cr"]
    f = namespace["f"]
    np.testing.assert_array_equal(cr.hessian(f)([1.0, 2.0, 0.0]), [[0, 4, 0], [4, 2, 0], [0, 0, 1]])
    np.testing.assert_array_equal(cr.hvp(f, [1.0, 2.0, 0.0], [1.0, 0, 0]), [0, 4, 0])
    np.testing.assert_array_equal(namespace["h"].data, [6.0, -12.0])
    shown = re.findall(r"```text\n(.*?)```", section, flags=re.S)[0]
    assert main(["demo", "newton"]) == 0
    printed = capsys.readouterr().out.splitlines()
    for line in shown.strip().splitlines():
        assert line in printed, line
