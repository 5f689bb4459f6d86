"""The README's two commands stay true: CI runs exactly the test command the README gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [block.strip() for block in blocks[:2]]


def test_readme_opens_with_the_main_job_and_the_test_command() -> None:
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
