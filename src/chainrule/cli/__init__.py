"""The ``chainrule`` command line.

chainrule demo abc | delta-rule | newton
chainrule train iris --optimizer nag --hidden 16 --activation softplus --lr 0.01 --epochs 350 --seed 0
chainrule compare iris --optimizers gd,nag --plot compare.png
chainrule train digits --model cnn --batch-norm --plot digits.png --save digits.npz
chainrule compare digits
chainrule compare iris --repeats 10 --workers 2          (Dask: chainrule.distributed, cli/distributed.py)
chainrule demo abc --samples 1000000 --partitions 8 --workers 2
chainrule predict model.npz --input 5.1,3.5,1.4,0.2
chainrule explain seed-004 --format markdown --graph graph.svg
chainrule gradcheck path/to/file.py:function
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from typing import Any, Callable, Sequence

import numpy as np

from . import checks as cli_checks
from . import digits as cli_digits
from . import distributed as cli_distributed
from ..errors import ChainruleError


def option_type(check: Callable[[Any], bool], allowed: str, parse: Callable[[str], Any] = float) -> Any:
    """An argparse ``type``: ``parse`` the text, keep it if ``check`` holds, else say what is ``allowed``.

    argparse puts "argument --NAME:" before the message, so every bad value gets one line naming
    its option and the values it takes.
    """

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not check(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return convert


_positive_int = option_type(lambda n: n >= 1, "a positive integer", int)
_seed = option_type(lambda n: n >= 0, "an integer, 0 or more", int)
_positive_float = option_type(lambda x: 0 < x < math.inf, "a positive number")
_momentum = option_type(lambda x: 0 <= x < 1, "a number from 0 up to (not including) 1")


def _test_fraction(text: str) -> float:
    """``--test-fraction``: a share that leaves at least one flower of each species in both parts."""
    from ..examples.iris import SPLIT_RULE, test_fraction_range

    low, high = test_fraction_range()
    return option_type(lambda x: low <= x <= high, f"a number from {low:.3g} to {high:.3g} ({SPLIT_RULE})")(text)


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hidden", type=_positive_int, default=16, help="hidden units (default 16)")
    parser.add_argument(
        "--activation",
        choices=["softplus", "sigmoid", "tanh", "relu", "leaky_relu"],
        default="softplus",
        help="hidden activation (default softplus)",
    )
    parser.add_argument("--lr", type=_positive_float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--epochs", type=_positive_int, default=350, help="passes over the training set (default 350)")
    parser.add_argument(
        "--seed", type=_seed, default=0, help="seed of the split, initial weights and batches (default 0)"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="mini-batch size (default: the whole training set, i.e. full-batch gradient descent)",
    )
    parser.add_argument(
        "--momentum", type=_momentum, default=0.9, help="momentum of --optimizer momentum (default 0.9)"
    )
    parser.add_argument(
        "--test-fraction",
        type=_test_fraction,
        default=0.2,
        help="share held out for testing, 0.02 to 0.98 (default 0.2)",
    )
    parser.add_argument("--plot", metavar="FILE", help="save loss and accuracy curves (.png, .svg or .pdf)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="replay each step from a trace of the loss: the same numbers, less overhead",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description="Backpropagation you can see, check and trust.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a worked example from the seed documents")
    demos = demo.add_subparsers(dest="demo", required=True, metavar="NAME")
    abc = demos.add_parser("abc", help="the three-matrix network y=xA, u=σ(y), v=xB, z=u+v, w=zC, L=‖w‖²")
    abc.add_argument("--steps", type=_positive_int, default=100, help="gradient-descent steps (default 100)")
    abc.add_argument("--lr", type=_positive_float, default=0.01, help="learning rate (default 0.01)")
    abc.add_argument("--samples", type=_positive_int, default=1000, help="random inputs in the batch (default 1000)")
    abc.add_argument("--seed", type=_seed, default=0, help="random seed of the inputs (default 0)")
    cli_distributed.add_options(abc, _positive_int, partitions=True)
    delta = demos.add_parser(
        "delta-rule", help="the single-layer weight update: inputs times δ, not a Kronecker product"
    )
    delta.add_argument("--seed", type=_seed, default=0, help="random seed of the example (default 0)")
    newton = demos.add_parser("newton", help="Newton's method (Hessian from cr.hessian) against gradient descent")
    newton.add_argument(
        "--steps",
        type=option_type(lambda n: 1 <= n <= 100, "an integer from 1 to 100", int),
        default=8,
        help="Newton steps shown (default 8)",
    )
    newton.add_argument("--lr", type=_positive_float, default=1.0, help="gradient descent's learning rate (default 1)")

    train_command = commands.add_parser("train", help="train a network on Iris or the digits; report its accuracy")
    train_sets = train_command.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    train = train_sets.add_parser("iris", help="the seed's Iris network (Iris ships with chainrule)")
    _add_training_options(train)
    cli_digits.add_options(train_sets.add_parser("digits", help=cli_digits.DIGITS_HELP), compare=False)
    train.add_argument(
        "--optimizer",
        choices=["gd", "momentum", "nag", "adam"],
        default="nag",
        help="gd, momentum, nag (Nesterov, gradient at the look-ahead point) or adam (default nag)",
    )
    train.add_argument(
        "--save", metavar="FILE", help="save the trained model (.npz; it standardises raw measurements itself)"
    )

    compare_command = commands.add_parser(
        "compare", help="Iris: several optimizers on the same split and weights; digits: the CNN and the MLP"
    )
    compare_sets = compare_command.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    compare = compare_sets.add_parser("iris", help="several optimizers on the same split and initial weights")
    _add_training_options(compare)
    cli_digits.add_options(compare_sets.add_parser("digits", help=cli_digits.DIGITS_HELP), compare=True)
    compare.add_argument("--optimizers", default="gd,nag", help="comma-separated list (default gd,nag)")
    compare.add_argument(
        "--repeats",
        type=_positive_int,
        default=1,
        help="also average over this many seeds (seed, seed+1, ...); default 1",
    )
    cli_distributed.add_options(compare, _positive_int)

    cli_checks.add_commands(commands)

    predict = commands.add_parser("predict", help="classify one flower with a saved model")
    predict.add_argument("model", help="a file written by chainrule train --save")
    predict.add_argument("--input", required=True, help="comma-separated measurements, e.g. 5.1,3.5,1.4,0.2")
    return parser


VALUE_OPTIONS = ("--input",)  # options whose value may start with a minus sign (a negative measurement)


def attach_negative_values(argv: Sequence[str]) -> list[str]:
    """``--input -0.5,1,1,1`` as ``--input=-0.5,1,1,1``: argparse takes a lone word starting with "-" for an option.

    >>> attach_negative_values(["predict", "m.npz", "--input", "-0.5,1,1,1"])
    ['predict', 'm.npz', '--input=-0.5,1,1,1']
    """
    words: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":  # everything after it is positional
            return words + list(argv[index:])
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if (
            word in VALUE_OPTIONS
            and following[:1] == "-"
            and (following[1:2] in set("0123456789.") or "," in following)
        ):
            words.append(f"{word}={following}")
            index += 2
        else:
            words.append(word)
            index += 1
    return words


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(attach_negative_values(sys.argv[1:] if argv is None else argv))
    try:
        if getattr(args, "plot", None):
            from ..training.plot import check_plot_path

            check_plot_path(args.plot)
        if getattr(args, "save", None):
            from ..training.files import check_writable

            check_writable(args.save)
        if args.command == "demo":
            return _demo(args)
        if args.command in ("train", "compare") and args.dataset == "digits":
            return cli_digits.run_train(args) if args.command == "train" else cli_digits.run_compare(args)
        if args.command == "train":
            return _train(args)
        if args.command == "compare":
            return _compare(args, parser)
        if args.command == "explain":
            return cli_checks.run_explain(args)
        if args.command == "gradcheck":
            return cli_checks.run_gradcheck(args)
        return _predict(args)
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except (ChainruleError, ValueError, OSError, ImportError, RuntimeError) as error:
        if isinstance(error, cli_checks.UserCodeError):
            print(error.traceback, end="", file=sys.stderr)
        print(f"chainrule {args.command}: {error}", file=sys.stderr)
        return 1


def _demo(args: argparse.Namespace) -> int:
    if args.demo == "abc" and cli_distributed.wanted(args):
        worst = cli_distributed.demo_abc(args)
    elif args.demo == "abc":
        from ..examples import three_matrix

        worst = three_matrix.demo(steps=args.steps, lr=args.lr, samples=args.samples, seed=args.seed)
    elif args.demo == "newton":
        from ..examples import newton

        return 0 if newton.demo(steps=args.steps, learning_rate=args.lr) else 1
    else:
        from ..examples import delta_rule

        worst = delta_rule.demo(seed=args.seed)
    return 0 if worst < 1e-12 else 1


def _run(args: argparse.Namespace, optimizer: str, seed: int) -> Any:
    """Train the Iris network; a run whose loss became NaN or infinite is one line saying to lower --lr.

    NumPy's overflow warnings are silenced while it trains: fit's divergence check reports them.
    """
    from ..errors import DivergenceError
    from ..examples import iris

    try:
        with np.errstate(all="ignore"):
            return iris.train(
                optimizer,
                hidden=args.hidden,
                activation=args.activation,
                lr=args.lr,
                epochs=args.epochs,
                seed=seed,
                batch_size=args.batch_size,
                test_fraction=args.test_fraction,
                momentum=args.momentum,
                progress=False if args.quiet else None,
                trace=args.trace,
            )
    except DivergenceError as error:
        epoch, loss = getattr(error, "epoch", None), getattr(error, "loss", None)
        where = f"became {loss} in epoch {epoch} of {args.epochs}" if epoch is not None else "stopped being finite"
        raise ValueError(
            f"training diverged: the loss {where} ({optimizer}, --lr {args.lr:g}, seed {seed}); try a smaller --lr"
        ) from None


def _train(args: argparse.Namespace) -> int:
    from ..training.model_file import save
    from ..training.plot import plot_histories

    run = _run(args, args.optimizer, args.seed)
    history = run.history
    print(
        f"{args.optimizer}: {args.epochs} epochs, lr {args.lr}, 4-{args.hidden}-3 {args.activation} network, "
        f"seed {args.seed}, {len(run.split.train_labels)} training / {len(run.split.test_labels)} test samples"
    )
    print(f"final training loss {history.loss[-1]:.4f}")
    print(f"train accuracy {history.train_accuracy[-1]:.3f}")
    print(f"test accuracy {history.test_accuracy[-1]:.3f}")
    if args.plot:
        print(f"curves saved to {plot_histories({args.optimizer: history}, args.plot)}")
    if args.save:
        metadata = {
            "task": "iris",
            "outputs": "logits",
            "class_names": list(run.class_names),
            "feature_names": list(run.feature_names),
            "training": {
                "optimizer": args.optimizer,
                "lr": args.lr,
                "epochs": args.epochs,
                "seed": args.seed,
                "hidden": args.hidden,
                "activation": args.activation,
                "batch_size": args.batch_size,
                "history": history.to_dict(),
            },
        }
        save(run.model, args.save, metadata=metadata)
        print(f"model saved to {args.save}")
    return 0


def _compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..examples.iris import OPTIMIZERS
    from ..training.plot import plot_histories

    names = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    unknown = [name for name in names if name not in OPTIMIZERS]
    if not names or unknown:
        parser.error(
            f"--optimizers: unknown {', '.join(unknown) or '(empty list)'}; choose from {', '.join(OPTIMIZERS)}"
        )
    seeds = list(range(args.seed, args.seed + args.repeats))
    if cli_distributed.wanted(args):
        runs = cli_distributed.compare_runs(args, names, seeds, _run)
    else:
        runs = {name: [_run(args, name, seed) for seed in seeds] for name in names}
    seed_text = f"seed {args.seed}" if args.repeats == 1 else f"seeds {seeds[0]}–{seeds[-1]}, mean ± standard deviation"
    print(
        f"Iris, 4-{args.hidden}-3 {args.activation} network, lr {args.lr}, {args.epochs} epochs, "
        f"same split and initial weights for every optimizer ({seed_text})"
    )
    print(_table(runs, seeds))
    if args.plot:
        histories = {name: group[0].history for name, group in runs.items()}
        print(f"curves saved to {plot_histories(histories, args.plot, title=f'Iris, lr {args.lr}, seed {args.seed}')}")
    return 0


def _table(runs: dict[str, list[Any]], seeds: list[int]) -> str:
    header = ["optimizer", "final loss", "train accuracy", "test accuracy", "epochs to 90% test"]
    rows = []
    for name, group in runs.items():
        histories = [run.history for run in group]
        reached = [h.epochs_to_reach(0.9) for h in histories]
        if len(seeds) == 1:
            h = histories[0]
            cells = [
                f"{h.loss[-1]:.4f}",
                f"{h.train_accuracy[-1]:.3f}",
                f"{h.test_accuracy[-1]:.3f}",
                str(reached[0]) if reached[0] is not None else "never",
            ]
        else:
            cells = [
                _mean_std([h.loss[-1] for h in histories], 4),
                _mean_std([h.train_accuracy[-1] for h in histories], 3),
                _mean_std([h.test_accuracy[-1] for h in histories], 3),
                f"{sum(r is not None for r in reached)}/{len(seeds)} runs"
                + (
                    f", median {statistics.median(r for r in reached if r is not None):g}"
                    if any(r is not None for r in reached)
                    else ""
                ),
            ]
        rows.append([name] + cells)
    if len(seeds) > 1:
        header[-1] += f" (seeds {seeds[0]}–{seeds[-1]})"
    return markdown_table(header, rows)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table with its columns padded to line up in a terminal."""
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(header, widths)) + " |",
        "|" + "|".join("-" * (width + 2) for width in widths) + "|",
    ]
    lines += ["| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |" for row in rows]
    return "\n".join(lines)


def _mean_std(values: list[float], digits: int) -> str:
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _predict(args: argparse.Namespace) -> int:
    from ..engine.grad_mode import no_grad
    from ..training.model_file import load

    model = load(args.model)
    metadata = getattr(model, "metadata", {})
    feature_names = metadata.get("feature_names")
    input_shape = metadata.get("input_shape")  # one sample's shape, for models that take images
    expected = feature_names or (int(np.prod(input_shape)) if input_shape else _input_size(model))
    values = _measurements(args.input, expected)
    batch = values.reshape(1, *input_shape) if input_shape else values[np.newaxis, :]
    with no_grad(), np.errstate(all="ignore"):  # outputs that overflow are reported by _probabilities
        outputs = model(batch)
    probabilities, source = _probabilities(model, np.asarray(getattr(outputs, "data", outputs)))
    class_names = metadata.get("class_names") or [str(index) for index in range(len(probabilities))]
    if len(class_names) != len(probabilities):
        raise ValueError(f"the model gives {len(probabilities)} outputs but its file names {len(class_names)} classes")
    print(f"predicted: {class_names[int(np.argmax(probabilities))]}")
    print(f"probabilities ({source}):")
    for name, probability in zip(class_names, probabilities):
        shown = f"{probability:.4f}" if probability >= 5e-5 or probability == 0 else f"{probability:.1e}"
        print(f"  {name:<12} {shown}")
    return 0


def _measurements(text: str, expected: list[str] | int | None) -> np.ndarray:
    """The numbers of ``--input``, checked: finite, and as many as the model takes."""
    try:
        values = np.array([float(part) for part in text.split(",")])
    except ValueError:
        raise ValueError(f"--input must be comma-separated numbers, got {text!r}") from None
    count = len(expected) if isinstance(expected, list) else expected
    if count is not None and len(values) != count:
        needs = f"{count} ({', '.join(expected)})" if isinstance(expected, list) else str(count)
        raise ValueError(f"--input has {len(values)} numbers but the model needs {needs}")
    parts = text.split(",")
    names = expected if isinstance(expected, list) else None
    bad = [
        f"{parts[index].strip()} for {names[index] if names else f'number {index + 1}'}"
        for index in np.flatnonzero(~np.isfinite(values))
    ]
    if bad:
        raise ValueError(f"--input must be finite numbers, got {', '.join(bad)}")
    return values


def _input_size(model: Any) -> int | None:
    """How many numbers the first layer takes, when it says."""
    from ..nn import Linear, Sequential, Standardize

    first = model.layers[0] if isinstance(model, Sequential) and len(model) else model
    if isinstance(first, Standardize):
        return int(first.mean.size)
    return first.in_features if isinstance(first, Linear) else None


def _probabilities(model: Any, outputs: np.ndarray) -> tuple[np.ndarray, str]:
    """Class probabilities from one sample's outputs, and where they come from."""
    from .. import ops
    from ..nn import Sequential, Softmax

    if outputs.ndim != 2 or outputs.shape[0] != 1 or outputs.shape[1] < 2:
        raise ValueError(
            f"the model gives outputs of shape {outputs.shape} for one sample; "
            "predict needs one score per class (2 or more classes)"
        )
    scores = outputs[0]
    if not np.isfinite(scores).all():
        parameters = model.parameters() if callable(getattr(model, "parameters", None)) else []
        if not all(np.isfinite(parameter.data).all() for parameter in parameters):
            raise ValueError("the model's weights are not all finite (nan or inf): the file is damaged")
        raise ValueError(
            f"the model's outputs overflowed for these inputs (they became {scores.tolist()}): "
            "the values are far outside the measurements it was trained on"
        )
    last = model.layers[-1] if isinstance(model, Sequential) and len(model) else model
    if type(last) is Softmax:
        if last.axis not in (-1, 1):
            raise ValueError(f"the model's last layer is a softmax over axis {last.axis}, not over the classes")
        return scores, "the model's softmax outputs"
    metadata = getattr(model, "metadata", {})
    source = (
        "softmax of the model's logits" if metadata.get("outputs") == "logits" else "softmax of the model's outputs"
    )
    return ops.softmax(scores).data, source
