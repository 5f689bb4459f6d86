"""The ``chainrule`` command line: ``chainrule demo abc``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description="Backpropagation you can see, check and trust.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="run a worked example from the seed documents")
    demos = demo.add_subparsers(dest="demo", required=True, metavar="NAME")
    abc = demos.add_parser("abc", help="the three-matrix network y=xA, u=σ(y), v=xB, z=u+v, w=zC, L=‖w‖²")
    abc.add_argument("--steps", type=_positive_int, default=100, help="gradient-descent steps (default 100)")
    abc.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    abc.add_argument("--samples", type=_positive_int, default=1000, help="random inputs in the batch (default 1000)")
    abc.add_argument("--seed", type=int, default=0, help="random seed of the inputs (default 0)")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo" and args.demo == "abc":
        from .examples import three_matrix

        worst = three_matrix.demo(steps=args.steps, lr=args.lr, samples=args.samples, seed=args.seed)
        return 0 if worst < 1e-12 else 1
    return 2  # pragma: no cover - argparse rejects anything else


if __name__ == "__main__":
    sys.exit(main())
