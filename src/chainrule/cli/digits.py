"""``chainrule train digits`` and ``chainrule compare digits``: the CNN and the MLP on the 8×8 digits.

The work is in ``chainrule.examples.digits``; this module only reads options and prints.
"""

from __future__ import annotations

import argparse
from typing import Any

DIGITS_HELP = "the 8×8 handwritten digits (1,797 images, ships with chainrule)"


def add_options(parser: argparse.ArgumentParser, compare: bool) -> None:
    """The options of ``train digits`` (``compare=False``) or ``compare digits``."""
    from ..examples.digits import DEFAULTS, MODELS
    from . import _positive_float, _positive_int, _seed, option_type

    if not compare:
        parser.add_argument("--model", choices=MODELS, default="cnn", help="cnn (default) or mlp")
    parser.add_argument(
        "--epochs", type=_positive_int, default=DEFAULTS["epochs"], help=f"default {DEFAULTS['epochs']}"
    )
    parser.add_argument(
        "--lr",
        type=_positive_float,
        default=DEFAULTS["lr"],
        help=f"Adam's initial learning rate (default {DEFAULTS['lr']})",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULTS["batch_size"],
        help=f"mini-batch size (default {DEFAULTS['batch_size']})",
    )
    parser.add_argument(
        "--seed", type=_seed, default=0, help="seed of the split, weights, dropout and batches (default 0)"
    )
    parser.add_argument("--batch-norm", action="store_true", help="cnn: batch normalisation after each convolution")
    parser.add_argument(
        "--dropout",
        type=option_type(lambda p: 0 <= p < 1, "a number from 0 up to (not including) 1"),
        default=0.0,
        help="cnn: dropout probability before the last layer (default 0: none)",
    )
    parser.add_argument("--plot", metavar="FILE", help="save loss and accuracy curves (.png, .svg or .pdf)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--trace", action="store_true", help="replay each step from a trace: the same numbers, faster")
    if not compare:
        parser.add_argument("--save", metavar="FILE", help="save the trained model (.npz; it takes raw pixels 0–16)")


def _run(args: argparse.Namespace, model: str) -> Any:
    from ..examples import digits

    shared = {name: getattr(args, name) for name in ("epochs", "lr", "batch_size", "seed", "trace")}
    cnn = model == "cnn"  # compare digits trains the mlp too: the cnn's options are left out of it
    progress = False if args.quiet else None
    return digits.train(
        model, batch_norm=cnn and args.batch_norm, dropout=args.dropout if cnn else 0.0, progress=progress, **shared
    )


def _epochs(count: int) -> str:
    return f"{count} epoch{'s' if count != 1 else ''}"


def label(run: Any) -> str:
    """The model and its options: ``cnn (batch norm, dropout 0.2)``."""
    extras = ["batch norm"] if run.settings["batch_norm"] else []
    if run.settings["dropout"]:
        extras.append(f"dropout {run.settings['dropout']:g}")
    return f"{run.name} ({', '.join(extras)})" if extras else run.name


def run_train(args: argparse.Namespace) -> int:
    if args.model == "mlp" and (args.batch_norm or args.dropout):
        raise ValueError("--batch-norm and --dropout are options of --model cnn, not mlp")
    from ..training.model_file import save
    from ..training.plot import plot_histories

    run = _run(args, args.model)
    history = run.history
    print(
        f"digits: {label(run)}, {run.parameter_count:,} parameters, {_epochs(args.epochs)}, Adam lr {args.lr:g} (cosine), batches of {args.batch_size}, "
        f"seed {args.seed}, {len(run.split.train_labels)} training / {len(run.split.test_labels)} test images"
    )
    print("| epoch | loss | train accuracy | test accuracy |")
    print("|---:|---:|---:|---:|")
    for epoch, (loss, train, test) in enumerate(zip(history.loss, history.train_accuracy, history.test_accuracy), 1):
        print(f"| {epoch} | {loss:.4f} | {train:.3f} | {test:.3f} |")
    print(f"test accuracy {history.test_accuracy[-1]:.3f} in {run.seconds:.1f} s")
    if args.plot:
        print(f"curves saved to {plot_histories({args.model: history}, args.plot, title='digits')}")
    if args.save:
        save(run.model, args.save, metadata=_metadata(run))
        print(f"model saved to {args.save}")
    return 0


def _metadata(run: Any) -> dict[str, Any]:
    """What a saved digits model carries besides its weights: the task, its inputs and how it was trained."""
    inputs = "images (N, 1, 8, 8)" if run.name == "cnn" else "rows of 64"
    return {
        "task": "digits",
        "outputs": "logits",
        "class_names": [str(digit) for digit in range(10)],
        "inputs": f"{inputs} pixels from 0 to 16",
        "input_shape": [1, 8, 8] if run.name == "cnn" else [64],  # one sample's: predict reshapes --input to it
        "training": {**run.settings, "history": run.history.to_dict()},
    }


def run_compare(args: argparse.Namespace) -> int:
    from ..examples.digits import MODELS
    from ..training.plot import plot_histories
    from . import markdown_table

    runs = {model: _run(args, model) for model in MODELS}
    print(
        f"digits, {_epochs(args.epochs)}, Adam lr {args.lr:g} (cosine), batches of {args.batch_size}, seed {args.seed}, "
        "the same split for both"
    )
    header = ["model", "parameters", "final loss", "train accuracy", "test accuracy", "seconds"]
    rows = [
        [
            label(run),
            f"{run.parameter_count:,}",
            f"{run.history.loss[-1]:.4f}",
            f"{run.history.train_accuracy[-1]:.3f}",
            f"{run.history.test_accuracy[-1]:.3f}",
            f"{run.seconds:.1f}",
        ]
        for run in runs.values()
    ]
    print(markdown_table(header, rows))
    if args.plot:
        histories = {name: run.history for name, run in runs.items()}
        print(f"curves saved to {plot_histories(histories, args.plot, title=f'digits, seed {args.seed}')}")
    return 0
