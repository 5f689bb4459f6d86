"""The scalar network of the seeds in pure Python, as references for chainrule's scalar steps.

- ``scalar_micrograd``: a micrograd-style engine, the kind a learner writes after a first lesson
  on backpropagation: one ``Value`` object per number, each remembering the values it was made
  from and a closure that passes its gradient to them, and a backward that sorts the graph
  topologically (depth first) and runs the closures in reverse order. Written for this
  benchmark: the smallest engine that runs the network (+, −, ×, a power, σ), without tricks.
- ``scalar_python``: the step derived by hand, as ``scalar_numpy`` does it, on Python floats with
  ``math.exp``: what the issue calls the hand-written step in pure Python.

Both follow ``common.py``'s contract: ``make(problem) -> step``, ``step() -> (loss, gradients)``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from benchmarks.common import Problem, Step
from benchmarks.small_networks import scalar_hand_gradients


class Value:
    """One number of a scalar graph: its value, its gradient, and how to pass the gradient back.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a
    >>> c.backward()
    >>> (c.data, a.grad, b.grad)
    (-4.0, -2.0, 2.0)
    """

    def __init__(self, data: float, inputs: tuple[Value, ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self.inputs = inputs  # the values this one was computed from
        self.pass_grad_back: Callable[[], None] = _nothing  # adds this value's gradient into its inputs'

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        result = Value(self.data + other.data, (self, other))

        def pass_grad_back() -> None:  # d(a + b)/da = d(a + b)/db = 1
            self.grad += result.grad
            other.grad += result.grad

        result.pass_grad_back = pass_grad_back
        return result

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        result = Value(self.data * other.data, (self, other))

        def pass_grad_back() -> None:  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * result.grad
            other.grad += self.data * result.grad

        result.pass_grad_back = pass_grad_back
        return result

    def __pow__(self, exponent: float) -> Value:
        result = Value(self.data**exponent, (self,))

        def pass_grad_back() -> None:  # d(aⁿ)/da = n·aⁿ⁻¹
            self.grad += exponent * self.data ** (exponent - 1) * result.grad

        result.pass_grad_back = pass_grad_back
        return result

    def sigmoid(self) -> Value:
        s = 1 / (1 + math.exp(-self.data))  # a learner's σ: math.exp overflows below x = −709
        result = Value(s, (self,))

        def pass_grad_back() -> None:  # σ'(a) = σ(a)(1 − σ(a))
            self.grad += s * (1 - s) * result.grad

        result.pass_grad_back = pass_grad_back
        return result

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def backward(self) -> None:
        """Gradients of this value with respect to every value it was computed from, added into their ``.grad``."""
        order: list[Value] = []  # each value after all the values it was computed from
        visited: set[Value] = set()

        def visit(value: Value) -> None:
            if value not in visited:
                visited.add(value)
                for source in value.inputs:
                    visit(source)
                order.append(value)

        visit(self)
        self.grad = 1.0
        for value in reversed(order):
            value.pass_grad_back()


def _nothing() -> None:
    """A leaf's ``pass_grad_back``: it has no inputs."""


def micrograd_loss(weights: list[Value], inputs: tuple[float, ...], y: float) -> Value:
    """The scalar network's loss on the micrograd-style engine (σ is one op; ``- y`` adds a value −y)."""
    w1, w2, w3, w4, w5, w6 = weights
    x1, x2, x3, x4 = inputs
    h1 = (x1 * w1 + x2 * w2).sigmoid()
    h2 = (x3 * w3 + x4 * w4).sigmoid()
    return ((h1 * w5 + h2 * w6).sigmoid() - y) ** 2


def scalar_micrograd(problem: Problem) -> Step:
    """The training step on the micrograd-style engine: forward, zero the gradients, backward, update."""
    weights = {name: Value(float(value)) for name, value in problem.params.items()}
    values, inputs = list(weights.values()), tuple(float(value) for value in problem.inputs)
    y, lr = float(problem.targets), problem.lr

    def step():
        loss = micrograd_loss(values, inputs, y)
        for weight in weights.values():
            weight.grad = 0.0
        loss.backward()
        grads = {name: np.float64(weight.grad) for name, weight in weights.items()}
        for weight in weights.values():
            weight.data -= lr * weight.grad
        return loss.data, grads

    return step


def scalar_python(problem: Problem) -> Step:
    """The hand-derived step of ``small_networks.scalar_numpy`` on Python floats with ``math.exp``."""
    names = list(problem.params)
    weights = [float(value) for value in problem.params.values()]
    inputs = tuple(float(value) for value in problem.inputs)
    y, lr = float(problem.targets), problem.lr

    def step():
        loss, grads = scalar_hand_gradients(weights, inputs, y, math.exp)
        weights[:] = [weight - lr * grad for weight, grad in zip(weights, grads)]
        return loss, dict(zip(names, grads))

    return step
