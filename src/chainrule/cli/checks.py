"""The ``explain`` and ``gradcheck`` commands: load a target, then explain or check it.

A target is ``seed-004`` (the scalar network of the hand-derivation seed) or
``path/to/file.py:function``. The function is called without arguments (give its inputs
default values) and must return a scalar chainrule tensor.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import math
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

from ..engine import anomaly
from ..errors import ChainruleError
from ..engine.tensor import Tensor

SEEDS = ("seed-004",)
PACKAGE = Path(__file__).resolve().parent.parent  # chainrule/: frames in here are chainrule's, not the user's


class TargetError(ChainruleError, ValueError):
    """A target that cannot be loaded or does not return a scalar tensor."""


class UserCodeError(ChainruleError, RuntimeError):
    """The user's file or function raised: ``traceback`` holds their frames only, the message one line."""

    def __init__(self, message: str, traceback_text: str) -> None:
        super().__init__(message)
        self.traceback = traceback_text


@contextlib.contextmanager
def users_code() -> Iterator[None]:
    """Turn an exception raised in the user's code into a ``UserCodeError`` showing where, in their files.

    Frames inside chainrule (and Python's import machinery) are left out; an error that no
    frame of the user's caused is raised as it is.
    """
    try:
        yield
    except Exception as error:
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if _is_users(frame.filename)]
        if isinstance(error, SyntaxError) and error.filename and _is_users(error.filename):
            shown = "".join(traceback.format_exception_only(error))
            where = f"{Path(error.filename).name}, line {error.lineno}"
        elif frames:
            last = frames[-1]
            shown = "Traceback (most recent call last), in your code:\n" + "".join(traceback.format_list(frames))
            place = "at the top level" if last.name == "<module>" else f"in {last.name}"
            where = f"{Path(last.filename).name}, line {last.lineno}, {place}"
        else:
            raise
        text = str(error.msg if isinstance(error, SyntaxError) else error).strip().splitlines()
        message = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
        raise UserCodeError(f"your code raised {message} ({where})", shown) from None


def _is_users(filename: str) -> bool:
    if filename.startswith("<"):  # <frozen importlib._bootstrap>, <string>
        return False
    return not Path(filename).resolve().is_relative_to(PACKAGE)


def add_commands(commands: Any) -> None:
    from . import option_type

    digits = option_type(lambda n: n >= 1, "a positive integer (significant digits)", int)
    positive = option_type(lambda x: 0 < x < math.inf, "a positive number")
    tolerance = option_type(lambda x: 0 <= x < math.inf, "a number, 0 or more")
    explain = commands.add_parser("explain", help="write out the forward and backward pass of a small computation")
    explain.add_argument("target", help="seed-004, or path/to/file.py:function returning a scalar tensor")
    explain.add_argument("--format", choices=["text", "markdown", "latex"], default="text", help="output format")
    explain.add_argument("--digits", type=digits, default=6, help="significant digits (default 6)")
    explain.add_argument("--graph", metavar="FILE", help="also draw the graph (.svg, .png, .pdf need Graphviz; .dot)")
    explain.add_argument("--html", metavar="FILE", help="also write the interactive page (graph, stepper) to FILE")
    gradcheck = commands.add_parser("gradcheck", help="check a function's gradient against finite differences")
    gradcheck.add_argument("target", help="seed-004, or path/to/file.py:function returning a scalar tensor")
    gradcheck.add_argument("--eps", type=positive, default=1e-6, help="finite-difference step (default 1e-6)")
    gradcheck.add_argument("--rtol", type=tolerance, default=1e-5, help="relative tolerance (default 1e-5)")
    gradcheck.add_argument("--atol", type=tolerance, default=1e-8, help="absolute tolerance (default 1e-8)")
    gradcheck.add_argument("--html", metavar="FILE", help="also write the page of the graph, failing ops marked")


def load_function(target: str) -> Callable[..., Any]:
    """The function a target names."""
    if target == "seed-004":
        from ..examples import scalar_network

        return scalar_network.divergence
    path_text, separator, name = target.rpartition(":")
    if not separator or not path_text or not name:
        raise TargetError(f"expected seed-004 or path/to/file.py:function, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise TargetError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    spec = importlib.util.spec_from_file_location(f"chainrule_target_{abs(hash(path.resolve()))}", path)
    if spec is None or spec.loader is None:
        raise TargetError(f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))  # let the file import its neighbours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    function = getattr(module, name, None)
    if not callable(function):
        raise TargetError(f"{path} has no function {name!r}")
    return function


def call_for_scalar(function: Callable[..., Any]) -> Tensor:
    """Call ``function()`` and insist on a scalar tensor that depends on something requiring grad."""
    name = getattr(function, "__name__", "function")
    missing = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if missing:
        raise TargetError(
            f"{name} needs arguments {', '.join(missing)}; give them default values so it can be called alone"
        )
    result = function()
    if not isinstance(result, Tensor) or result.size != 1:
        got = f"shape {tuple(result.shape)}" if isinstance(result, Tensor) else type(result).__name__
        raise TargetError(f"{name} must return a scalar chainrule tensor, got {got}")
    if result.grad_fn is None:
        raise TargetError(f"{name}'s result does not depend on any tensor with requires_grad=True")
    return result


def run_explain(args: argparse.Namespace) -> int:
    from ..explanation.draw import draw
    from ..explanation.explain import explain

    from ..training.files import check_writable

    if args.graph:
        check_graph_path(args.graph)
    if args.html is not None:
        check_writable(args.html)
    with users_code():  # a custom op's backward, called by explain, is the user's code too
        loss = call_for_scalar(load_function(args.target))
        explanation = explain(loss, digits=args.digits)
    print({"text": explanation.text, "markdown": explanation.markdown, "latex": explanation.latex}[args.format]())
    if args.graph:
        print(f"graph saved to {draw(loss, digits=min(args.digits, 4)).save(args.graph)}", file=sys.stderr)
    if args.html:
        print(f"page saved to {explanation.save_html(args.html)}", file=sys.stderr)
    return 0


def check_graph_path(path: str) -> None:
    """Fail before explaining when ``--graph`` could not be saved: a wrong extension, no Graphviz, an unwritable path.

    An empty graph is saved the way the real one will be, in a throwaway folder, so the rules
    are ``Drawing.save``'s own.
    """
    from ..explanation.draw import Drawing
    from ..training.files import check_writable

    check_writable(path)
    with tempfile.TemporaryDirectory() as folder:
        try:
            Drawing("digraph chainrule {}").save(Path(folder) / f"graph{Path(path).suffix}")
        except ValueError as error:
            raise ValueError(f"--graph {path}: {str(error).removeprefix('draw: ')}") from None


def run_gradcheck(args: argparse.Namespace) -> int:
    from ..training.files import check_writable

    if args.html is not None:
        check_writable(args.html)
    with users_code():
        function = load_function(args.target)
        report = _gradcheck_report(function, args)
    print(report)
    if args.html:
        print(f"page saved to {_gradcheck_page(function, args)}", file=sys.stderr)
    return 0 if report else 1


def _gradcheck_page(function: Callable[..., Any], args: argparse.Namespace) -> Path:
    """The derivation page of the function's graph, each op checked on its own (``check_graph``): a wrong one marked."""
    from ..check import check_graph
    from ..explanation.explain import explain

    with users_code():
        with anomaly.record_locations():
            loss = call_for_scalar(function)
        graph_report = check_graph(loss, eps=args.eps, rtol=args.rtol, atol=args.atol)
        return explain(loss).save_html(args.html, check=graph_report)


def _gradcheck_report(function: Callable[..., Any], args: argparse.Namespace) -> Any:
    from ..check import function_of_leaves, gradcheck

    parameters = list(inspect.signature(function).parameters.values())
    if parameters and all(p.default is not p.empty for p in parameters):
        return gradcheck(function, *(p.default for p in parameters), eps=args.eps, rtol=args.rtol, atol=args.atol)
    with anomaly.record_locations():  # so that a wrong op can be reported with its line
        loss = call_for_scalar(function)
    replay, leaves = function_of_leaves(loss)
    names = [leaf.name or f"leaf {index}" for index, leaf in enumerate(leaves)]
    return gradcheck(replay, *(leaf.data for leaf in leaves), eps=args.eps, rtol=args.rtol, atol=args.atol, names=names)
