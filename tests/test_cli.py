"""The chainrule command line, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
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
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "44.061213140343526" in result.stdout


def test_bad_arguments_are_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "abc", "--steps", "0"])
    assert exit_info.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err


def test_demo_delta_rule_shows_inputs_times_delta(capsys) -> None:
    assert main(["demo", "delta-rule"]) == 0
    out = capsys.readouterr().out
    assert "largest difference: 0" in out
    assert "kronecker(transpose(outputs), δ) has shape (2, 2)" in out
    assert "cannot update W of shape (4, 2)" in out


def test_train_save_predict(tmp_path, capsys) -> None:
    model, curves = tmp_path / "model.npz", tmp_path / "curves.png"
    code = main(
        [
            "train",
            "iris",
            "--optimizer",
            "nag",
            "--hidden",
            "16",
            "--activation",
            "softplus",
            "--lr",
            "0.01",
            "--epochs",
            "350",
            "--seed",
            "1",
            "--plot",
            str(curves),
            "--save",
            str(model),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "train accuracy 0.975" in out and "test accuracy 1.000" in out
    assert curves.read_bytes()[:4] == b"\x89PNG" and model.exists()

    assert main(["predict", str(model), "--input", "5.1,3.5,1.4,0.2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("predicted: setosa\n")
    probabilities = [float(line.split()[-1]) for line in out.splitlines()[2:]]
    assert len(probabilities) == 3 and abs(sum(probabilities) - 1) < 1e-3 and probabilities[0] > 0.9
    assert main(["predict", str(model), "--input", "6.7,3.0,5.2,2.3"]) == 0
    assert capsys.readouterr().out.startswith("predicted: virginica\n")


def test_compare_prints_the_table_and_draws_one_figure(tmp_path, capsys) -> None:
    figure = tmp_path / "compare.svg"
    assert (
        main(["compare", "iris", "--optimizers", "gd,nag", "--epochs", "350", "--seed", "1", "--plot", str(figure)])
        == 0
    )
    out = capsys.readouterr().out
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in out.splitlines()
        if line.startswith("| gd") or line.startswith("| nag")
    }
    assert float(rows["nag"][0]) < float(rows["gd"][0])  # final loss
    assert rows["gd"][3] == "never" and int(rows["nag"][3]) < 350
    assert "<svg" in figure.read_text()


def test_compare_over_several_seeds(capsys) -> None:
    assert main(["compare", "iris", "--optimizers", "gd,adam", "--epochs", "20", "--repeats", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "(seeds 0–2)" in out and " ± " in out


def test_cli_errors_are_one_line(tmp_path, capsys) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really")
    assert main(["predict", str(broken), "--input", "1,2,3,4"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule predict: load: broken.npz") and err.count("\n") == 1

    model = tmp_path / "m.npz"
    assert main(["train", "iris", "--epochs", "2", "--save", str(model), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), "--input", "1,2,3"]) == 1
    assert "--input has 3 numbers but the model needs 4" in capsys.readouterr().err
    assert main(["predict", str(model), "--input", "1,x,3,4"]) == 1
    assert "comma-separated numbers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "iris", "--optimizers", "gd,lbfgs"])
    assert "unknown lbfgs" in capsys.readouterr().err


def test_plot_problems_are_reported_before_training(capsys) -> None:
    assert main(["train", "iris", "--plot", "curves.jpg"]) == 1
    captured = capsys.readouterr()
    assert "save the figure as .png, .svg or .pdf, not .jpg" in captured.err
    assert captured.out == ""  # nothing was trained


def test_explain_seed_004_in_every_format(tmp_path, capsys) -> None:
    assert main(["explain", "seed-004"]) == 0
    text = capsys.readouterr().out
    assert "h1   = σ(s1)       [sigmoid]  = 0.787513" in text
    assert "∂Div/∂w1 = ∂Div/∂t1 · ∂t1/∂w1 = (-0.00128413) · (-0.7) = 0.000898891" in text
    assert main(["explain", "seed-004", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("### Forward pass")
    assert main(["explain", "seed-004", "--format", "latex", "--graph", str(tmp_path / "g.dot")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(r"\paragraph{Forward pass}")
    assert "graph saved to" in captured.err and (tmp_path / "g.dot").read_text().startswith("digraph")


STUDENT_FILE = '''
import numpy as np
import chainrule as cr

class MySoftplus(cr.Function):
    """d/dx softplus(x) = σ(x)"""
    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x)
    def backward(self, grad_out):
        s = 1 / (1 + np.exp(-self.x))
        return grad_out * s * (1 - s)  # the mistake

def broken():
    W = cr.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True, name="W")
    x = cr.tensor([1.0, -2.0], name="x")
    return MySoftplus.apply(x @ W).sum()

def right(w=np.array([0.3, -0.2]), b=1.5):
    return (cr.softplus(w) * b).sum()

def needs_input(w):
    return w.sum()

def not_scalar():
    return cr.tensor([1.0, 2.0], requires_grad=True) * 2
'''


def test_gradcheck_command_exits_by_its_verdict(tmp_path, capsys) -> None:
    path = tmp_path / "homework.py"
    path.write_text(STUDENT_FILE)
    assert main(["gradcheck", f"{path}:right"]) == 0
    assert "gradcheck: passed" in capsys.readouterr().out
    assert main(["gradcheck", f"{path}:broken"]) == 1
    out = capsys.readouterr().out
    assert "gradcheck: FAILED" in out and "W      (2, 2)" in out
    assert "the first op whose backward disagrees with finite differences is mysoftplus" in out
    assert "homework.py:17: return MySoftplus.apply(x @ W).sum()" in out
    assert main(["gradcheck", "seed-004"]) == 0


def test_explain_a_users_function(tmp_path, capsys) -> None:
    path = tmp_path / "homework.py"
    path.write_text(STUDENT_FILE)
    assert main(["explain", f"{path}:broken"]) == 0
    out = capsys.readouterr().out
    assert "t1 = x @ W" in out and "mysoftplus" in out and "∂L/∂W" in out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{path}:needs_input", "needs arguments w; give them default values"),
        ("{path}:not_scalar", "must return a scalar chainrule tensor, got shape (2,)"),
        ("{path}:missing", "has no function 'missing'"),
        ("{tmp}/nowhere.py:f", "nowhere.py does not exist"),
        ("seed-005", "expected seed-004 or path/to/file.py:function"),
    ],
)
def test_bad_targets_get_one_line(tmp_path, capsys, target, message) -> None:
    path = tmp_path / "homework.py"
    path.write_text(STUDENT_FILE)
    assert main(["explain", target.format(path=path, tmp=tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_train_with_trace_prints_the_same_numbers(capsys) -> None:
    assert main(["train", "iris", "--epochs", "60", "--seed", "3", "--quiet"]) == 0
    eager = capsys.readouterr().out
    assert main(["train", "iris", "--epochs", "60", "--seed", "3", "--quiet", "--trace"]) == 0
    assert capsys.readouterr().out == eager


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "iris.npz"
    assert main(["train", "iris", "--epochs", "30", "--seed", "2", "--save", str(path), "--quiet"]) == 0
    return path


def _printed_probabilities(out: str) -> dict[str, float]:
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line.startswith("  ")}


@pytest.mark.parametrize(
    ("measurements", "named"),
    [("nan,3.5,1.4,0.2", "nan for sepal_length"), ("5.1,inf,1.4,-inf", "inf for sepal_width, -inf for petal_width")],
)
def test_predict_refuses_measurements_that_are_not_finite(trained_model, capsys, measurements, named) -> None:
    capsys.readouterr()
    assert main(["predict", str(trained_model), "--input", measurements]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"chainrule predict: --input must be finite numbers, got {named}\n" and captured.out == ""


def test_predict_prints_probabilities_for_a_model_saved_without_metadata(tmp_path, capsys, rng) -> None:
    import chainrule as cr
    from chainrule import nn

    logits_model = nn.Sequential(nn.Linear(4, 3, rng=0))
    x = np.array([[5.1, 3.5, 1.4, 0.2]])
    expected = cr.softmax(logits_model(x)).data[0]
    assert (logits_model(x).data < 0).any()  # raw outputs that are no probabilities
    for model, source in [
        (logits_model, "softmax of the model's outputs"),
        (nn.Sequential(*logits_model.layers, nn.Softmax()), "the model's softmax outputs"),
    ]:
        cr.save(model, tmp_path / "m.npz")
        assert main(["predict", str(tmp_path / "m.npz"), "--input", "5.1,3.5,1.4,0.2"]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[:2] == [f"predicted: {int(np.argmax(expected))}", f"probabilities ({source}):"]
        np.testing.assert_allclose(list(_printed_probabilities(out).values()), expected, atol=5e-5)

    cr.save(nn.Sequential(nn.Linear(4, 1, rng=0)), tmp_path / "one.npz")
    assert main(["predict", str(tmp_path / "one.npz"), "--input", "5.1,3.5,1.4,0.2"]) == 1
    assert "predict needs one score per class (2 or more classes)" in capsys.readouterr().err


def test_a_loaded_model_predicts_from_raw_measurements_as_the_command_does(trained_model, capsys) -> None:
    import chainrule as cr
    from chainrule import data, nn

    model = cr.load(trained_model)
    assert isinstance(model.layers[0], nn.Standardize)  # the preprocessing is part of the model
    iris = data.load_iris()
    split = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=2)
    np.testing.assert_allclose(model.layers[0].mean, split.train_features.mean(axis=0), rtol=1e-15)
    for flower in ([5.1, 3.5, 1.4, 0.2], [5.9, 3.0, 4.2, 1.5], [6.7, 3.0, 5.2, 2.3]):
        probabilities = cr.softmax(model(np.array([flower]))).data[0]
        assert main(["predict", str(trained_model), "--input", ",".join(map(str, flower))]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"predicted: {iris.class_names[int(np.argmax(probabilities))]}\n")
        np.testing.assert_allclose(list(_printed_probabilities(out).values()), probabilities, atol=5e-5)


def test_a_model_file_of_the_old_format_predicts_as_before(tmp_path, trained_model, capsys) -> None:
    import chainrule as cr
    from chainrule import nn

    new = cr.load(trained_model)
    standardize, *network = new.layers
    metadata = {**new.metadata, "standardizer": {"mean": standardize.mean.tolist(), "std": standardize.std.tolist()}}
    old = tmp_path / "old.npz"
    cr.save(nn.Sequential(*network), old, metadata=metadata)  # as chainrule train --save wrote it before
    for path in (trained_model, old):
        assert main(["predict", str(path), "--input", "5.9,3.0,4.2,1.5"]) == 0
    first, second = capsys.readouterr().out.split("predicted:")[1:]
    assert first == second and "versicolor" in first


def test_a_test_fraction_that_empties_a_part_is_refused_before_training(capsys) -> None:
    from chainrule.examples import iris

    for fraction in ["0.99", "0.01", "0", "1", "nan", "-0.5"]:
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "iris", "--test-fraction", fraction, "--quiet"])
        assert exit_info.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.splitlines()[-1] == (
            "chainrule train iris: error: argument --test-fraction: must be a number from 0.02 to 0.98 "
            f"(each part needs at least one flower of each species), got '{fraction}'"
        )
        with pytest.raises(ValueError, match=r"^iris.train: test_fraction must be from 0.02 to 0.98 \(each part"):
            iris.train(test_fraction=float(fraction), epochs=1, progress=False)
    for fraction, sizes in [("0.02", "147 training / 3 test"), ("0.98", "3 training / 147 test")]:
        assert main(["train", "iris", "--test-fraction", fraction, "--epochs", "3", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert f"{sizes} samples" in out and "nan" not in out


@pytest.mark.parametrize(
    ("argv", "option", "allowed"),
    [
        (["train", "iris", "--lr", "abc"], "--lr", "a positive number"),
        (["train", "iris", "--lr", "inf"], "--lr", "a positive number"),
        (["train", "iris", "--seed", "-1"], "--seed", "an integer, 0 or more"),
        (["train", "iris", "--hidden", "2.5"], "--hidden", "a positive integer"),
        (["train", "iris", "--momentum", "1.5"], "--momentum", "a number from 0 up to (not including) 1"),
        (["compare", "iris", "--repeats", "0"], "--repeats", "a positive integer"),
        (["demo", "abc", "--seed", "-1"], "--seed", "an integer, 0 or more"),
        (["demo", "abc", "--lr", "nan"], "--lr", "a positive number"),
        (["demo", "delta-rule", "--seed", "x"], "--seed", "an integer, 0 or more"),
        (["explain", "seed-004", "--digits", "0"], "--digits", "a positive integer (significant digits)"),
        (["explain", "seed-004", "--digits", "six"], "--digits", "a positive integer (significant digits)"),
        (["gradcheck", "seed-004", "--eps", "0"], "--eps", "a positive number"),
        (["gradcheck", "seed-004", "--rtol", "-0.1"], "--rtol", "a number, 0 or more"),
        (["gradcheck", "seed-004", "--atol", "nan"], "--atol", "a number, 0 or more"),
    ],
)
def test_every_bad_option_value_gets_one_line_naming_the_option(capsys, argv, option, allowed) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    command = " ".join(argv[:2]) if argv[0] in ("demo", "train", "compare") else argv[0]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"chainrule {command}: error: argument {option}: must be {allowed}, got '{argv[-1]}'"
    )


RAISING_FILE = """
import numpy as np
import chainrule as cr


def check_weights(w):
    if w.sum() > 0:
        raise ValueError("weights must not sum to a positive number")


def loss(w=np.array([1.0, 2.0])):
    check_weights(w)
    return cr.tensor(w).sum()
"""


@pytest.mark.parametrize("command", ["gradcheck", "explain"])
def test_an_error_in_the_users_function_shows_their_traceback(tmp_path, capsys, command) -> None:
    path = tmp_path / "homework.py"
    path.write_text(RAISING_FILE)
    assert main([command, f"{path}:loss"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "Traceback (most recent call last), in your code:",
        f'  File "{path}", line 12, in loss',
        "    check_weights(w)",
        f'  File "{path}", line 8, in check_weights',
        '    raise ValueError("weights must not sum to a positive number")',
        f"chainrule {command}: your code raised ValueError: weights must not sum to a positive number "
        "(homework.py, line 8, in check_weights)",
    ]


@pytest.mark.parametrize(
    ("source", "shown", "summary"),
    [
        (
            "import numpy\nscale = 1 / 0\n",
            "    scale = 1 / 0",
            "ZeroDivisionError: division by zero (bad.py, line 2, at the top level)",
        ),
        ("def loss(:\n    pass\n", "    def loss(:", "SyntaxError: invalid syntax (bad.py, line 1)"),
    ],
)
def test_an_error_while_importing_the_users_file_shows_their_line(tmp_path, capsys, source, shown, summary) -> None:
    path = tmp_path / "bad.py"
    path.write_text(source)
    assert main(["gradcheck", f"{path}:loss"]) == 1
    err = capsys.readouterr().err
    assert shown in err.splitlines() and str(path) in err
    assert err.splitlines()[-1] == f"chainrule gradcheck: your code raised {summary}"
    assert "chainrule/" not in err.replace("chainrule gradcheck", "")  # no frame of chainrule's own


def _without_warnings(function, *args):
    """``function(*args)``, failing the test if it warned (NumPy's RuntimeWarnings included)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args)
    assert [str(warning.message) for warning in caught] == []
    return result


@pytest.mark.parametrize("command", ["train", "compare"])
def test_a_diverging_run_is_one_line_saying_to_lower_the_rate(capsys, command) -> None:
    argv = [command, "iris", "--lr", "1e300", "--epochs", "5", "--quiet"]
    assert _without_warnings(main, argv) == 1
    captured = capsys.readouterr()
    optimizer = "nag" if command == "train" else "gd"
    assert captured.out == "" and captured.err == (
        f"chainrule {command}: training diverged: the loss became nan in epoch 2 of 5 ({optimizer}, --lr 1e+300, "
        "seed 0); try a smaller --lr\n"
    )


def test_save_and_plot_paths_are_checked_before_training(tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "notes.txt").write_text("a file")
    (tmp_path / "curves.png").mkdir()
    for option, path, reason in [
        ("--save", tmp_path, "it is a folder; give a file name inside it"),
        ("--save", tmp_path / "notes.txt" / "m.npz", f"{tmp_path / 'notes.txt'} is a file, not a folder"),
        ("--plot", tmp_path / "curves.png", "it is a folder; give a file name inside it"),
    ]:
        assert main(["train", "iris", option, str(path), "--quiet"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""  # nothing was trained
        assert captured.err == f"chainrule train: cannot save to {path}: {reason}\n"

    import os

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a read-only folder, even for root
    assert main(["compare", "iris", "--plot", str(tmp_path / "c.png"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"chainrule compare: cannot save to {tmp_path / 'c.png'}: no permission to write in the folder {tmp_path}\n"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [("g.txt", "not .txt"), ("graph", "not a name without extension")],
)
def test_an_explain_graph_that_cannot_be_saved_is_refused_before_explaining(tmp_path, capsys, name, problem) -> None:
    path = tmp_path / name
    assert main(["explain", "seed-004", "--graph", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"chainrule explain: --graph {path}: save as .dot, .gv, .svg, .png or .pdf, {problem}\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_negative_measurements_can_follow_input_after_a_space(trained_model, capsys) -> None:
    from chainrule.cli import attach_negative_values

    assert main(["predict", str(trained_model), "--input=-0.5,1,1,1"]) == 0
    attached = capsys.readouterr().out
    assert main(["predict", str(trained_model), "--input", "-0.5,1,1,1"]) == 0
    assert capsys.readouterr().out == attached and attached.startswith("predicted: ")
    assert main(["predict", str(trained_model), "--input", "-.5,-1,1,1"]) == 0
    assert attach_negative_values(["predict", "--", "--input", "-1"]) == ["predict", "--", "--input", "-1"]
    assert attach_negative_values(["predict", "m", "--input", "--quiet"]) == ["predict", "m", "--input", "--quiet"]


def test_outputs_that_overflow_are_blamed_on_the_inputs_not_the_weights(trained_model, tmp_path, capsys) -> None:
    import chainrule as cr

    assert _without_warnings(main, ["predict", str(trained_model), "--input", "1e308,1e308,1e308,1e308"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("chainrule predict: the model's outputs overflowed for ")
    assert captured.err.endswith("the values are far outside the measurements it was trained on\n")

    damaged = cr.load(trained_model)
    damaged.layers[1].weight.data[0, 0] = np.nan
    cr.save(damaged, tmp_path / "damaged.npz", metadata=damaged.metadata)
    assert _without_warnings(main, ["predict", str(tmp_path / "damaged.npz"), "--input", "5.1,3.5,1.4,0.2"]) == 1
    assert capsys.readouterr().err == (
        "chainrule predict: the model's weights are not all finite (nan or inf): the file is damaged\n"
    )
