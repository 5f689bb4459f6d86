"""cr.autograd.grad and backward(create_graph=True): gradients as tensors, differentiated again, against PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.examples import three_matrix as abc
from oracles import Cube, torch_hessian


def test_grad_of_a_cube_twice() -> None:
    x = cr.tensor(1.5, requires_grad=True)
    (first,) = cr.autograd.grad(x**3, x, create_graph=True)
    (second,) = cr.autograd.grad(first, x, create_graph=True)
    (third,) = cr.autograd.grad(second, x)
    assert (first.item(), second.item(), third.item()) == (3 * 1.5**2, 6 * 1.5, 6.0)
    assert x.grad is None  # grad stores nothing


def test_grad_matches_torch_with_grad_outputs_and_several_inputs(torch: Any, rng: np.random.Generator) -> None:
    a0, b0, v0 = rng.normal(size=(3, 4)), rng.normal(size=(4,)), rng.normal(size=(3,))
    a, b = cr.tensor(a0, requires_grad=True), cr.tensor(b0, requires_grad=True)
    out = cr.tanh(a @ b) * cr.exp(b).sum()
    ga, gb = cr.autograd.grad(out, [a, b], grad_outputs=[v0], create_graph=True)
    ta, tb = (torch.tensor(x, requires_grad=True) for x in (a0, b0))
    tout = torch.tanh(ta @ tb) * torch.exp(tb).sum()
    tga, tgb = torch.autograd.grad(tout, [ta, tb], grad_outputs=[torch.tensor(v0)], create_graph=True)
    np.testing.assert_allclose(ga.data, tga.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.data, tgb.detach().numpy(), rtol=1e-12)
    # and once more: d/d(a, b) of Σ ga² + Σ gb·b
    second = cr.autograd.grad((ga * ga).sum() + (gb * b).sum(), [a, b])
    tsecond = torch.autograd.grad((tga * tga).sum() + (tgb * tb).sum(), [ta, tb])
    for mine, theirs in zip(second, tsecond):
        np.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_grad_with_respect_to_an_intermediate_result(torch: Any) -> None:
    x = cr.tensor([0.5, -1.0], requires_grad=True)
    h = cr.sigmoid(x)
    loss = (h * h * 3).sum()
    (gh,) = cr.autograd.grad(loss, h)
    np.testing.assert_allclose(gh.data, 6 * h.data, rtol=1e-15)


def test_backward_with_create_graph_gives_a_gradient_tensor_for_a_penalty(torch: Any, rng: np.random.Generator) -> None:
    w0, x0 = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))
    w = cr.tensor(w0, requires_grad=True)
    cr.softplus(cr.tensor(x0) @ w).sum().backward(create_graph=True)
    assert isinstance(w.grad, cr.Tensor) and w.grad.requires_grad
    penalty = (w.grad * w.grad).sum()
    w.grad = None
    penalty.backward()
    tw = torch.tensor(w0, requires_grad=True)
    (tgrad,) = torch.autograd.grad(torch.nn.functional.softplus(torch.tensor(x0) @ tw).sum(), tw, create_graph=True)
    (expected,) = torch.autograd.grad((tgrad * tgrad).sum(), tw)
    np.testing.assert_allclose(w.grad, expected.numpy(), rtol=1e-10)


def test_optimizers_read_a_gradient_tensor_left_by_create_graph() -> None:
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    cr.optim.SGD([w], lr=0.25).step()
    np.testing.assert_array_equal(w.data, [0.5, -1.0])


def test_first_order_backward_is_unchanged_by_a_create_graph_pass_before_it() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (cr.exp(x) * x).sum()
    y.backward(create_graph=True)
    by_graph = x.grad.data.copy()
    x.grad = None
    y.backward()  # the graph was kept (retain_graph defaults to create_graph)
    np.testing.assert_array_equal(x.grad, by_graph)


def test_grad_errors_are_one_line() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match=r"grad: output 0 has shape \(2,\), not a scalar; pass grad_outputs"):
        cr.autograd.grad(x * 2, x)
    with pytest.raises(
        cr.GraphError, match=r"grad: the outputs do not depend on input 1 of shape \(1,\); pass allow_unused=True"
    ):
        cr.autograd.grad((x * 2).sum(), [x, y])
    assert cr.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)[1] is None
    with pytest.raises(cr.GraphError, match=r"grad: input 0 of shape \(1,\) does not require grad"):
        cr.autograd.grad((x * 2).sum(), cr.tensor([1.0]))
    with pytest.raises(cr.ShapeError, match=r"grad: grad_outputs 0 has shape \(3,\) but output 0 has shape \(2,\)"):
        cr.autograd.grad(x * 2, x, grad_outputs=[np.ones(3)])
    loss = (x * x).sum()
    cr.autograd.grad(loss, x)  # frees the graph: retain_graph defaults to create_graph=False
    with pytest.raises(cr.GraphError, match="already freed"):
        cr.autograd.grad(loss, x)


class TwiceDifferentiableCube(Cube):
    """d/dx x³ = 3x²"""

    def vjp(self, grad_out, x):
        return grad_out * 3 * x * x


def test_a_users_op_without_vjp_works_for_first_order_and_says_what_to_write_for_second() -> None:
    assert cr.grad(lambda x: Cube.apply(x))(2.0) == 12.0
    with pytest.raises(cr.GraphError) as error:
        cr.grad(cr.grad(lambda x: Cube.apply(x)))(2.0)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("cube: its backward is written with NumPy arrays, so it cannot be differentiated again")
    assert "give Cube a method vjp(self, grad_out, *inputs)" in message
    assert cr.grad(cr.grad(lambda x: TwiceDifferentiableCube.apply(x)))(2.0) == 12.0


def test_a_change_in_place_of_an_input_before_a_differentiable_backward_is_refused() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.exp(x).sum()  # exp saves its result, not x; its vjp reads x
    with cr.no_grad():
        x += 1
    with pytest.raises(cr.GraphError, match="was changed in place by .* after exp used it"):
        y.backward(create_graph=True)


def test_three_matrix_network_full_hessian_against_torch(torch: Any) -> None:
    """The seed network y=xA, u=σ(y), v=xB, z=u+v, w=zC, L=‖w‖²: the 27×27 Hessian over (A, B, C) together."""
    theta0 = np.concatenate([abc.SEED_A.ravel(), abc.SEED_B.ravel(), abc.SEED_C.ravel()])

    def matrices(theta):
        return theta[:9].reshape(3, 3), theta[9:18].reshape(3, 3), theta[18:].reshape(3, 3)

    hessian = cr.hessian(lambda theta: abc.loss_rows(cr.tensor(abc.SEED_X), *matrices(theta)))(theta0)

    def torch_loss(theta):
        a, b, c = matrices(theta)
        x = torch.tensor(abc.SEED_X)
        w = (torch.sigmoid(x @ a) + x @ b) @ c
        return (w * w).sum()

    expected = torch_hessian(torch, torch_loss, theta0)
    assert hessian.shape == (27, 27)
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-12, atol=1e-12)


def test_bad_arguments_to_grad_are_one_line() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with pytest.raises(cr.GraphError, match="grad: outputs must be a tensor or a list of tensors, got 3.0"):
        cr.autograd.grad(3.0, w)
    with pytest.raises(cr.GraphError, match="grad: no outputs given"):
        cr.autograd.grad([], w)
    with pytest.raises(TypeError, match="grad: retain_graph must be True or False"):
        cr.autograd.grad(loss, w, retain_graph="no")
    with pytest.raises(TypeError, match="grad: create_graph must be True or False"):
        cr.autograd.grad(loss, w, create_graph=1)
    with pytest.raises(cr.DTypeError, match="grad: grad_outputs 0 is float32 but output 0 is float64"):
        cr.autograd.grad(w * 2, w, grad_outputs=[cr.tensor([1.0, 1.0], dtype=np.float32)])
    with pytest.raises(cr.DTypeError, match="grad: input 'a' .* is not numbers"):
        cr.autograd.grad(w * 2, w, grad_outputs=["a"])
    constant = cr.autograd.grad(cr.autograd.grad(loss, w, create_graph=True)[0].sum(), w, create_graph=True)[0]
    with pytest.raises(
        cr.GraphError, match="output 0 does not depend on any tensor that requires grad: it is a constant"
    ):
        cr.autograd.grad(constant.sum(), w)


def test_transformations_in_one_thread_do_not_change_another_threads_trace() -> None:
    """The 'a transformation is running' state is per thread: a traced step elsewhere still fills .grad."""
    import threading

    step = cr.trace(lambda w: ((w - 3.0) ** 2).sum())
    w = cr.tensor([0.0, 0.0], requires_grad=True)
    for _ in range(3):
        w.zero_grad()
        step(w)
    inside, release = threading.Event(), threading.Event()

    def slow(x):
        inside.set()
        release.wait(5)
        return (x**3).sum()

    worker = threading.Thread(target=lambda: cr.hessian(slow)(np.ones(2)))
    worker.start()
    inside.wait(5)
    w.zero_grad()
    step(w)
    release.set()
    worker.join()
    np.testing.assert_array_equal(w.grad, [-6.0, -6.0])


def test_clip_grad_norm_scales_a_gradient_tensor_left_by_create_graph() -> None:
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    total = cr.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    assert total == 10.0
    np.testing.assert_allclose(w.grad.data, [0.6, 0.8], rtol=1e-6)


def test_backward_with_create_graph_gives_each_leaf_a_grad_of_its_own() -> None:
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    ((a + b) * 1.0).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    with cr.no_grad():
        a.grad *= 0
    assert np.array_equal(b.grad.data, [1.0, 1.0])
    c, g = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([0.5, 0.25])
    (c + 0.0).backward(g, create_graph=True)
    assert c.grad is not g and np.array_equal(c.grad.data, g.data)
    d = cr.tensor([1.0, 2.0], requires_grad=True)
    (d + 1.0).sum().backward(create_graph=True)
    with cr.no_grad():
        d.grad *= 3  # its own writeable array, not a read-only broadcast view
    assert np.array_equal(d.grad.data, [3.0, 3.0])


def test_grad_returns_arrays_of_their_own_in_each_inputs_dtype() -> None:
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    ga, gb = cr.autograd.grad((a + b).sum(), [a, b])
    ga.data *= 0
    assert np.array_equal(gb.data, [1.0, 1.0])
    g = np.array([0.5, 0.25])
    (gc,) = cr.autograd.grad(a + 1.0, a, grad_outputs=g)
    assert gc.data is not g and np.shares_memory(gc.data, g) is False

    class IntegerGradient(cr.Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad_out):
            return np.full(grad_out.shape, 2, dtype=np.int64)

    x = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (gx,) = cr.autograd.grad(IntegerGradient.apply(x).sum(), x)
    assert gx.dtype == np.float32 and np.array_equal(gx.data, [2, 2, 2])
