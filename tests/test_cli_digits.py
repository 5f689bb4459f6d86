"""``chainrule train digits`` and ``chainrule compare digits``."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.cli import main


def test_train_digits_mlp_prints_each_epoch_saves_and_plots(tmp_path, capsys) -> None:
    model, curves = tmp_path / "digits.npz", tmp_path / "digits.png"
    assert (
        main(
            [
                "train",
                "digits",
                "--model",
                "mlp",
                "--epochs",
                "3",
                "--quiet",
                "--save",
                str(model),
                "--plot",
                str(curves),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("digits: mlp, 4,810 parameters, 3 epochs, Adam lr 0.01 (cosine), batches of 64, seed 0")
    assert [line.split(" | ")[0] for line in lines[3:6]] == ["| 1", "| 2", "| 3"]
    final = float(lines[5].split(" | ")[-1].rstrip(" |"))
    assert f"test accuracy {final:.3f} in " in out and final > 0.9
    assert curves.read_bytes()[:4] == b"\x89PNG"
    loaded = cr.load(model)
    assert loaded.metadata["task"] == "digits" and loaded.metadata["training"]["epochs"] == 3
    assert loaded.metadata["training"]["history"]["test_accuracy"][-1] == pytest.approx(final, abs=5e-4)


def test_cnn_options_given_to_the_mlp_are_one_line(capsys) -> None:
    assert main(["train", "digits", "--model", "mlp", "--batch-norm", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == "chainrule train: --batch-norm and --dropout are options of --model cnn, not mlp\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "digits", "--dropout", "1"],
            "argument --dropout: must be a number from 0 up to (not including) 1, got '1'",
        ),
        (["train", "digits", "--epochs", "0"], "argument --epochs: must be a positive integer, got '0'"),
        (["train", "digits", "--batch-size", "x"], "argument --batch-size: must be a positive integer, got 'x'"),
        (["train", "digits", "--model", "rnn"], "argument --model: invalid choice: 'rnn'"),
        (["compare", "digits", "--lr", "-1"], "argument --lr: must be a positive number, got '-1'"),
        (["train", "mnist"], "argument DATASET: invalid choice: 'mnist'"),
    ],
)
def test_bad_option_values_get_one_line_naming_the_option(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    command = " ".join(argv[:2]) if argv[1] in ("digits", "iris") else argv[0]
    line = capsys.readouterr().err.splitlines()[-1]  # argparse lists the choices after it, quoted or not by version
    assert line == f"chainrule {command}: error: {message}" or line.startswith(
        f"chainrule {command}: error: {message} ("
    )


def test_compare_digits_prints_both_models_on_the_same_split(tmp_path, capsys) -> None:
    figure = tmp_path / "compare.svg"
    assert main(["compare", "digits", "--epochs", "2", "--quiet", "--plot", str(figure)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("digits, 2 epochs, Adam lr 0.01 (cosine), batches of 64, seed 0, the same split")
    assert [cell.strip() for cell in lines[1].split("|")[1:-1]] == [
        "model",
        "parameters",
        "final loss",
        "train accuracy",
        "test accuracy",
        "seconds",
    ]
    rows = {line.split("|")[1].strip(): line.split("|") for line in lines[3:5]}
    assert set(rows) == {"cnn", "mlp"}
    assert rows["cnn"][2].strip() == "6,090" and rows["mlp"][2].strip() == "4,810"
    assert all(0.5 < float(row[5]) <= 1 for row in rows.values())
    assert figure.read_text().lstrip().startswith("<?xml")


def test_train_digits_cnn_with_batch_norm_and_dropout(capsys) -> None:
    assert main(["train", "digits", "--batch-norm", "--dropout", "0.2", "--epochs", "1", "--quiet"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("digits: cnn (batch norm, dropout 0.2), 6,138 parameters, 1 epoch,")


def test_predict_takes_a_saved_digits_cnn_with_its_64_pixels(tmp_path, capsys) -> None:
    from chainrule.data import load_digits

    model = tmp_path / "cnn.npz"
    assert main(["train", "digits", "--model", "cnn", "--epochs", "2", "--quiet", "--save", str(model)]) == 0
    loaded = cr.load(model)
    assert loaded.metadata["input_shape"] == [1, 8, 8]
    pixels = load_digits().features[0].reshape(-1)
    capsys.readouterr()
    assert main(["predict", str(model), "--input", ",".join(str(v) for v in pixels)]) == 0
    out = capsys.readouterr().out
    with cr.no_grad():
        expected = int(loaded(cr.tensor(pixels.reshape(1, 1, 8, 8))).data.argmax())
    assert out.startswith(f"predicted: {expected}\n")
    assert main(["predict", str(model), "--input", "1,2,3"]) == 1
    assert "--input has 3 numbers but the model needs 64" in capsys.readouterr().err
