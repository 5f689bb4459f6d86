"""trace(): replayed steps equal eager steps exactly, and a trace knows its limits."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import test_ops_activation
import test_ops_convolution
import test_ops_elementwise
import test_ops_linalg
import test_ops_loss
import test_ops_normalization
import test_ops_pooling
import test_ops_reduce
import test_ops_regularization
import test_ops_shape
from chainrule import data, nn, optim
from chainrule.examples import scalar_network as seed
from chainrule.examples import three_matrix as abc
from oracles import Float64Gradient


def iris_setup(seed_value: int = 0):
    iris = data.load_iris()
    x = data.Standardizer().fit(iris.features).transform(iris.features)
    net = nn.Sequential(
        nn.Linear(4, 16, init=nn.init.normal(0, 0.1), rng=seed_value),
        nn.Softplus(),
        nn.Linear(16, 3, init=nn.init.normal(0, 0.1), rng=seed_value + 1),
    )
    return net, x, iris.labels


def test_traced_training_equals_eager_training_bit_for_bit() -> None:
    eager_net, x, labels = iris_setup()
    traced_net, _, _ = iris_setup()
    eager_opt = optim.NAG(eager_net.parameters(), lr=0.01)
    traced_opt = optim.NAG(traced_net.parameters(), lr=0.01)
    step = cr.trace(lambda features, targets: cr.cross_entropy(traced_net(features), targets))
    for _ in range(25):
        eager_opt.zero_grad()
        eager_loss = cr.cross_entropy(eager_net(x), labels)
        eager_loss.backward()
        eager_opt.step()
        traced_opt.zero_grad()
        traced_loss = step(x, labels)
        traced_opt.step()
        assert traced_loss.item() == eager_loss.item()
        assert not traced_loss.requires_grad
    for mine, theirs in zip(traced_net.parameters(), eager_net.parameters()):
        np.testing.assert_array_equal(mine.data, theirs.data)
    assert len(step.tapes) == 1


def test_mini_batches_of_new_data_and_a_new_shape() -> None:
    net, x, labels = iris_setup(3)
    reference, _, _ = iris_setup(3)
    step = cr.trace(lambda features, targets: cr.cross_entropy(net(features), targets))
    for batch in (slice(0, 64), slice(64, 128), slice(128, 150)):
        net.zero_grad()
        reference.zero_grad()
        loss = step(x[batch], labels[batch])
        expected = cr.cross_entropy(reference(x[batch]), labels[batch])
        expected.backward()
        assert loss.item() == expected.item()
        for mine, theirs in zip(net.parameters(), reference.parameters()):
            np.testing.assert_array_equal(mine.grad, theirs.grad)
    assert len(step.tapes) == 2  # 64 rows, then 22 rows


def test_gradients_reach_arguments_that_require_grad_and_accumulate() -> None:
    def loss(A, B, C):
        return abc.loss_rows(cr.tensor(abc.SEED_X), A, B, C)

    step = cr.trace(loss)
    leaves = [cr.tensor(m, requires_grad=True) for m in (abc.SEED_A, abc.SEED_B, abc.SEED_C)]
    value = step(*leaves)
    assert value.item() == abc.SEED_LOSS
    np.testing.assert_allclose(leaves[2].grad, abc.SEED_GRAD_C, atol=1e-12)
    again = [cr.tensor(m, requires_grad=True) for m in (abc.SEED_A, abc.SEED_B, abc.SEED_C)]
    step(*again)  # replayed, into the new arguments' .grad
    step(*again)  # and a second time: gradients add up, as with backward()
    np.testing.assert_array_equal(again[2].grad, 2 * leaves[2].grad)


def test_scalar_network_replays_exactly() -> None:
    weights = [cr.tensor(w, requires_grad=True) for w in seed.W]
    step = cr.trace(lambda *w: seed.build(w)[0])
    first = step(*weights)
    grads = [w.grad.copy() for w in weights]
    fresh = [cr.tensor(w, requires_grad=True) for w in seed.W]
    assert step(*fresh).item() == first.item()
    for before, leaf in zip(grads, fresh):
        assert leaf.grad == before


def test_a_trace_refuses_what_it_cannot_replay() -> None:
    with pytest.raises(cr.GraphError, match="f must return a scalar chainrule tensor, got shape \\(2,\\)"):
        cr.trace(lambda x: x * 2)(cr.tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(cr.GraphError, match="does not depend on any tensor with requires_grad=True"):
        cr.trace(lambda x: (x * 2).sum())(np.ones(2))


def test_recording_does_not_disturb_eager_code() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    cr.trace(lambda x: (x * w).sum())(np.ones(2))
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0 + 2.0, 1.0 + 4.0])
    assert not cr.engine.observers.active()


def test_a_tensor_argument_whose_data_changes_shape_gets_a_new_trace() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    step = cr.trace(lambda x: (x @ w).sum())
    x = cr.tensor(np.ones((3, 2)))
    assert step(x).item() == 9.0
    x.data = np.ones((5, 2))
    assert step(x).item() == 15.0
    assert len(step.tapes) == 2


def test_the_generated_code_can_be_read() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    step = cr.trace(lambda x: cr.softplus(x @ w).sum())
    step(np.ones((3, 2)))
    source = step.source()
    assert "v0 = F0(a0, d0)  # matmul" in source and "x0 = B1(g1)  # softplus" in source


EVERY_OP_CASE = [
    case
    for module in (
        test_ops_activation,
        test_ops_elementwise,
        test_ops_linalg,
        test_ops_loss,
        test_ops_reduce,
        test_ops_shape,
        test_ops_convolution,
        test_ops_pooling,
        test_ops_normalization,
        test_ops_regularization,
    )
    for case in module.CASES
]


def replays_like_eager(loss_fn, *calls: list[np.ndarray]) -> None:
    """Each call of one ``trace(loss_fn)`` gives the loss and every .grad that eager backward gives on its arrays,
    bit for bit (one list of arrays: two calls with it). Integer arrays are passed as integer tensors."""
    step = cr.trace(loss_fn)
    for arrays in calls if len(calls) > 1 else calls * 2:
        eager = [cr.tensor(a, requires_grad=a.dtype.kind == "f", dtype=a.dtype) for a in arrays]
        expected = loss_fn(*eager)
        expected.backward()
        traced = [cr.tensor(a, requires_grad=a.dtype.kind == "f", dtype=a.dtype) for a in arrays]
        assert step(*traced).item() == expected.item()
        for mine, theirs in zip(traced, eager):
            if theirs.grad is None:  # a user's op gave this input no gradient, or it is an integer tensor
                assert mine.grad is None
                continue
            assert type(mine.grad) is np.ndarray and mine.grad.dtype == theirs.grad.dtype
            np.testing.assert_array_equal(mine.grad, theirs.grad)


@pytest.mark.parametrize("case", EVERY_OP_CASE, ids=str)
def test_every_built_in_op_replays_exactly(case, rng) -> None:
    """The traced code leaves out the checks for built-in ops (Function.exact_gradients): each one earns it here."""
    arrays = case.inputs(rng)
    constants = case.constants(rng) if case.constants else {}
    weights = rng.normal(size=case.chainrule(*(cr.tensor(a) for a in arrays), **constants).shape)
    replays_like_eager(lambda *xs: (case.chainrule(*xs, **constants) * weights).sum(), arrays)


def test_user_ops_keep_every_check_in_a_trace(rng) -> None:
    class HalfKnown(cr.Function):
        """d/da (a·b) = b; the gradient for b is left out (None), as a user's op may do"""

        def forward(self, a, b):
            self.b = b
            return a * b

        def backward(self, grad_out):
            return list(grad_out * self.b), None  # a list, and of the broadcast shape

    assert not HalfKnown.exact_gradients and cr.ops.elementwise.Mul.exact_gradients
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3,))
    replays_like_eager(lambda x, y: (HalfKnown.apply(x, y) * y).sum(), [a, b])
    replays_like_eager(lambda x, y: HalfKnown.apply(y, x).sum(), [a[0], b])  # x gets no gradient at all

    class TwoForOne(cr.Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad_out):
            return grad_out, grad_out

    with pytest.raises(cr.GraphError, match="twoforone: backward returned 2 gradients for 1 inputs"):
        cr.trace(lambda x: TwoForOne.apply(x).sum())(cr.tensor(a, requires_grad=True))


def test_a_result_used_many_times_replays_exactly_with_its_sums_made_in_place(rng) -> None:
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(3,))

    def shared(x, y):
        h = cr.tanh(x * y)  # h gets five gradients: the third and later are added in place
        return (h * 2.0 + h).sum() + (h * h).sum() + cr.squared_norm(h + y)

    replays_like_eager(shared, [a, b])
    step = cr.trace(shared)
    step(cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True))
    assert "ADD(g" in step.source() and ", x0, True)" in step.source()  # into a sum the replay made itself

    # float32 sums meeting a float64 gradient from a user's op promote as in eager mode
    replays_like_eager(lambda x: (Float64Gradient.apply(x * 1.0) + x * 1.0).sum(), [np.ones(3, dtype=np.float32)])

    def float64_gradient_last(x):
        h = cr.tanh(x)
        return (Float64Gradient.apply(h) + h + h + h).sum()  # made first: its gradient reaches h's sum last

    replays_like_eager(float64_gradient_last, [rng.normal(size=3).astype(np.float32)])


def test_a_replay_lets_each_intermediate_go_after_its_last_use() -> None:
    import tracemalloc

    w = cr.tensor(np.ones((250, 500)), requires_grad=True)  # 1 MB of float64
    weights = [np.full((250, 500), float(i)) for i in range(10)]

    def f():
        h = cr.tanh(w)
        loss = (h * weights[0]).sum()
        for c in weights[1:]:
            loss = loss + (h * c).sum()  # each product is needed by nothing after its sum
        return loss

    step = cr.trace(f)
    step()
    step()  # recorded again and compared: the replays start at the third call
    tracemalloc.start()
    try:
        w.grad = None
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6e6  # 5 MB; holding every product and every gradient to the end took 25 MB


# ------------------------------------------------------------------------- never a silently wrong replay
def new_values(rng, *shapes: tuple[int, ...], calls: int = 5) -> list[list[np.ndarray]]:
    """Arrays of ``shapes`` with new random values for each of ``calls`` calls."""
    return [[rng.normal(size=shape) for shape in shapes] for _ in range(calls)]


def test_what_f_computes_without_gradient_is_recomputed_at_each_replay(rng) -> None:
    """detach, comparisons, where's condition and tensors as indices are ops of the replay, not recorded values."""
    replays_like_eager(lambda x: (x * x.detach()).sum(), *new_values(rng, (4,)))
    replays_like_eager(lambda x: (x * x.detach() ** 2).sum() + cr.tanh(x.detach()).sum(), *new_values(rng, (3, 2)))
    replays_like_eager(lambda x: (x * (x > 0)).sum(), *new_values(rng, (6,)))
    replays_like_eager(lambda x, y: cr.where(x > y, x, y * 0.5).sum(), *new_values(rng, (5,), (5,)))
    replays_like_eager(lambda x: cr.where(x.detach() + 0.5, x, -x).sum(), *new_values(rng, (4,)))  # a float condition
    labels = [rng.integers(0, 5, size=3) for _ in range(5)]
    calls = [[x, y] for (x,), y in zip(new_values(rng, (3, 5)), labels)]
    replays_like_eager(lambda x, y: (x[np.arange(3), y] * 2.0).sum(), *calls)  # labels given as a tensor argument
    replays_like_eager(lambda x, y: cr.cross_entropy(x, y), *calls)


def test_a_boolean_mask_selecting_another_count_is_recorded_anew(rng) -> None:
    def f(x):
        return (x[x > 0] ** 2).mean()

    counts = [[1.0, -1.0, 2.0], [3.0, -2.0, 1.0], [1.0, 1.0, -2.0], [1.0, 1.0, 1.0], [-1.0, -1.0, 1.0], [2.0, -3, 4]]
    replays_like_eager(f, *[[np.array(values)] for values in counts])  # 2, 2, 2 (now replayed), 3, 1, 2 elements
    step = cr.trace(f)
    for values in counts[:4]:
        step(cr.tensor(values, requires_grad=True))
    assert len(step.tapes) == 1 and "raise SHAPE_CHANGED" in step.source()


@pytest.mark.parametrize(
    "read, how",
    [
        (lambda x: x.sum() * x.sum().item(), r"\.item\(\)"),
        (lambda x: x.sum() * float(x[0]), r"float\(\)"),
        (lambda x: x.sum() * int(x[0] > 0), r"int\(\)"),
        (lambda x: x.sum() if x.sum() > 0 else -x.sum(), r"bool\(\)"),
        (lambda x: (x * np.asarray(x)).sum(), r"np\.asarray\(\)"),
        (lambda x: (x * x.numpy()).sum(), r"\.numpy\(\)"),
        (lambda x: (x * cr.tensor(cr.tanh(x))).sum(), r"cr\.tensor\(\)"),
        (lambda x: (x * PARAMETER.item()).sum(), r"\.item\(\)"),  # a parameter changes between calls too
        (lambda x: x[: (x > 0).sum().astype(np.int64)].sum(), r"an index, size or slice bound"),
    ],
)
def test_a_value_leaving_tensor_ops_inside_f_is_refused_while_recording(read, how) -> None:
    step = cr.trace(read)
    with pytest.raises(
        cr.GraphError, match=f"trace: f reads the value of a tensor .* with {how}.*, at .*test_trace.py:"
    ):
        step(cr.tensor([0.5, -1.0, 2.0], requires_grad=True))


@pytest.mark.parametrize(
    "f",
    [
        lambda w, i, j: w[i:j].sum(),  # a number passed to f arrives as a tensor: its value would be kept
        lambda w, i, j: w.reshape(i, -1).sum() * j,
        lambda w, i, j: sum(w[k] for k in range(i)) * j,
    ],
)
def test_a_number_argument_used_as_a_slice_bound_or_size_is_refused_naming_the_use(f) -> None:
    w = cr.tensor(np.arange(6.0), requires_grad=True)
    assert np.isfinite(f(w, 2, 3).item())  # eagerly, with Python ints, it works
    with pytest.raises(cr.GraphError, match=r"with an index, size or slice bound \(w\[i:j\], reshape\(n, \.\.\.\)"):
        cr.trace(f)(w, 2, 3)


PARAMETER = cr.tensor(3.0, requires_grad=True)


def test_an_array_taken_from_data_as_a_constant_is_refused_while_recording() -> None:
    x = cr.tensor([0.5, -1.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match=r"input 0 of exp at .*cr\.exp\(x\.data\).* holds the array of a tensor"):
        cr.trace(lambda x: (x * cr.exp(x.data)).sum())(x)
    with pytest.raises(cr.GraphError, match=r"input 1 of mul .* holds the array of a tensor computed from f's"):
        cr.trace(lambda x: (x * cr.tanh(x).data[::-1]).sum())(x)  # a view of a result's array


SCALE = [2.0]


@pytest.mark.parametrize(
    "f, difference",
    [
        (lambda x: (x * cr.tensor(x.data * 2)).sum(), "op 0 \\(mul, at .*\\) takes as input 1 a tensor made inside f"),
        (lambda x: (x * cr.tensor(np.random.normal(size=2))).sum(), "takes as input 1 a tensor made inside f"),
        (
            lambda x: x[np.argmax(x.data)] * 1.0,
            r"op 0 \(index, .*\) has options \{index=np.int64\(0\)\} where the first call had \{index=np.int64\(1\)",
        ),
        (lambda x: x.sum() * SCALE[0], "takes as input 1 a tensor made inside f whose values changed"),
        (lambda x: x.sum() if x.data[0] > 2 else x.sum() * x.sum(), "f applied 1 op where its first call applied 3"),
        (lambda x: cr.clip(x, x.data.min() + 1.0, None).sum(), r"op 0 \(clip, .*\) has options"),
    ],
)
def test_what_the_recording_fixed_and_the_next_call_changes_is_refused(f, difference) -> None:
    """A second recording (the next call with the same shapes) is compared with the first before any replay."""
    step = cr.trace(f)
    SCALE[0] = 2.0
    step(cr.tensor([1.0, 3.0], requires_grad=True))
    SCALE[0] = 3.0
    with pytest.raises(cr.GraphError, match="trace: two calls of f with arguments of the same shapes computed "):
        step(cr.tensor([4.0, -1.0], requires_grad=True))
    with pytest.raises(cr.GraphError, match=difference):  # refused at every call, never replayed
        step(cr.tensor([4.0, -1.0], requires_grad=True))


def test_constants_parameters_and_shapes_are_not_refused(rng) -> None:
    w = cr.tensor(rng.normal(size=3), requires_grad=True)
    offset = cr.tensor([1.0, 2.0, 3.0])  # a constant made outside f, read afresh at each call

    def f(x):
        scale = float(cr.tensor(2.0)) / len(x)  # values of constants, and shapes, are fixed for good
        gate = cr.where(offset > 2.5, w.detach(), 0.5)  # a parameter's detached value, recomputed
        return ((x * w + offset) * scale * cr.tensor([1.0, -1.0, 0.5]) * gate).sum() + (w * w).sum()

    step = cr.trace(f)
    for (x,) in new_values(rng, (3,), calls=4):
        w.grad = None
        expected = f(cr.tensor(x))
        expected.backward()
        eager_grad, w.grad = w.grad, None
        assert step(x).item() == expected.item()
        np.testing.assert_array_equal(w.grad, eager_grad)
        w.data -= 0.1 * w.grad  # what an optimizer does between calls
        offset.data = offset.data - 0.5  # the gate closes element after element
    assert all(tape.confirmed for tape in step.tapes.values())


def test_inside_detect_anomaly_a_traced_function_checks_as_eager_code_does() -> None:
    def f(x):
        return cr.log(x).sum()

    step = cr.trace(f)
    for _ in range(3):
        step(cr.tensor([1.0, 2.0], requires_grad=True))  # recorded, compared, replayed
    zero = cr.tensor([1.0, 0.0], requires_grad=True)
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError) as traced:
            step(zero)
        with pytest.raises(cr.AnomalyError) as eager:
            f(zero)
        x = cr.tensor([0.5, 4.0], requires_grad=True)
        assert step(x).item() == np.log(2.0) and list(x.grad) == [2.0, 0.25]
    assert str(traced.value) == str(eager.value)
    assert "log produced -inf in its forward pass" in str(traced.value) and "return cr.log(x).sum()" in str(
        traced.value
    )

    root = cr.trace(lambda x: cr.sqrt(x).sum())
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError, match="the backward of sqrt produced inf"):
        root(cr.tensor([0.0, 1.0], requires_grad=True))
    assert len(root.tapes) == 0  # nothing was recorded inside


def test_what_a_trace_cannot_backpropagate_into_is_refused() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3.0
    with pytest.raises(cr.GraphError, match=r"input 0 of mul .* is a tensor made outside f computed by ops that"):
        cr.trace(lambda x: (h * x).sum())(np.ones(2))
    with pytest.raises(cr.GraphError, match=r"is an argument of f computed by ops that require grad \(grad_fn=<mul>\)"):
        cr.trace(lambda x: (x * x).sum())(h)
    inner = cr.trace(lambda x: (x * x).sum())
    with pytest.raises(cr.GraphError, match="a traced function was called inside another traced function's f"):
        cr.trace(lambda x: inner(x) * x.sum())(w)


def test_another_thread_reading_values_while_f_records_is_not_refused() -> None:
    import threading

    read = []

    def f(x):
        reader = threading.Thread(target=lambda: read.append(PARAMETER.item()))  # not f's code: allowed
        reader.start()
        reader.join()
        return (x * x).sum()

    cr.trace(f)(cr.tensor([1.0, 2.0], requires_grad=True))
    assert read == [3.0]


def test_a_change_in_place_inside_f_is_refused_while_recording() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(x: cr.Tensor) -> cr.Tensor:
        hidden = x * 2
        hidden += 1  # a replay would skip this
        return (hidden * w).sum()

    with pytest.raises(cr.GraphError, match=r"^trace: f changes a tensor in place \(\+= at .*test_trace.py"):
        cr.trace(f)(np.ones(2))


def test_ops_of_another_thread_do_not_enter_a_recording() -> None:
    import threading

    w = cr.tensor([1.0, 2.0], requires_grad=True)
    other_ran, recording = threading.Event(), threading.Event()

    def other_thread() -> None:
        recording.wait(timeout=10)
        for _ in range(5):
            _ = cr.exp(cr.tensor([1.0], requires_grad=True)) * 3  # not f's ops
        other_ran.set()

    def f(x: cr.Tensor) -> cr.Tensor:
        hidden = x * w
        recording.set()
        other_ran.wait(timeout=10)  # the other thread applies its ops while f records
        return cr.sigmoid(hidden).sum()

    thread = threading.Thread(target=other_thread)
    thread.start()
    step = cr.trace(f)
    step(np.ones(2))
    thread.join(timeout=10)
    source = step.source()
    forward_ops = [line.rsplit("# ", 1)[1] for line in source.splitlines() if line.startswith("    v")]
    assert forward_ops == ["mul", "sigmoid", "sum"]  # f's ops alone
    for values in ([0.5, -1.0], [2.0, 3.0], [-1.0, 0.25]):
        w.grad = None
        loss = step(np.array(values))
        replayed = w.grad
        w.grad = None
        eager = cr.sigmoid(cr.tensor(values) * w).sum()
        eager.backward()
        assert loss.item() == eager.item() and np.array_equal(replayed, w.grad)


def test_a_traced_step_refuses_keywords_no_grad_and_reshaped_parameters() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    step = cr.trace(lambda x: (x * w).sum())
    with pytest.raises(TypeError, match=r"^trace: pass f's arguments by position"):
        step(x=np.ones(2))
    before = w.grad
    with cr.no_grad(), pytest.raises(cr.GraphError, match=r"^trace: a traced step computes gradients.*no_grad"):
        step(np.ones(2))
    assert w.grad is before  # nothing accumulated
    for _ in range(3):
        step(np.ones(2))
    w.data = np.ones(3)
    with pytest.raises(cr.GraphError, match=r"^trace: 'w' was \(2,\) float64 when f was recorded and is now \(3,\)"):
        step(np.ones(2))


def test_a_traced_function_inside_a_transformation_is_differentiated_as_plain_f(rng) -> None:
    """A replay returns the loss without a graph; inside cr.grad, cr.hessian… the traced function runs as f instead.

    (Before, cr.hessian of a traced function gave a Hessian of zeros, silently.)
    """
    w = cr.tensor(rng.normal(size=3), requires_grad=True)

    def f(x):
        return cr.softplus(x * w).sum() + (x**3).sum()

    traced = cr.trace(f)
    x0 = rng.normal(size=3)
    np.testing.assert_array_equal(cr.hessian(traced)(x0), cr.hessian(f)(x0))
    np.testing.assert_array_equal(cr.grad(traced)(x0), cr.grad(f)(x0))
    np.testing.assert_array_equal(cr.jacobian(traced)(x0), cr.jacobian(f)(x0))
    assert not np.all(cr.hessian(traced)(x0) == 0)


def test_a_trace_is_a_program_that_prints_and_becomes_a_graph_again(rng) -> None:
    """The recording is data: listed op by op, and applied again as an ordinary graph (explained, differentiated)."""
    w = cr.tensor(rng.normal(size=3), requires_grad=True, name="w")

    def f(x):
        h = cr.softplus(x @ w)
        gate = cr.where(h.detach() > 0.7, h, h * 0.5)  # a comparison and a detach: ops without gradient
        return (gate * gate).mean()

    traced = cr.trace(f)
    x0 = rng.normal(size=(4, 3))
    listing = str(traced.program(x0))
    assert listing.splitlines()[0] == "v0 = matmul(a0, T0 'w')  # (4,)"
    assert "= detach(v1)  # (4,) (no gradient)" in listing and listing.splitlines()[-1].startswith("return v")

    replayed = traced.graph(x0)
    eager = f(cr.tensor(x0))
    assert replayed.item() == eager.item()
    (by_program,) = cr.autograd.grad(replayed, w, create_graph=True)
    (by_f,) = cr.autograd.grad(eager, w, create_graph=True)
    np.testing.assert_array_equal(by_program.data, by_f.data)
    second_by_program = cr.autograd.grad(by_program.sum(), w)[0].data
    np.testing.assert_array_equal(second_by_program, cr.autograd.grad(by_f.sum(), w)[0].data)
    assert cr.explain(traced.graph(x0)).gradients["w"] == pytest.approx(by_f.data, rel=1e-15)


def test_one_tensor_passed_as_two_arguments_is_recorded_apart_from_two_tensors() -> None:
    w = cr.tensor(2.0, requires_grad=True)
    step = cr.trace(lambda a, b: a * w - b)
    x, y = cr.tensor(3.0), cr.tensor(10.0)
    assert step(x, x).item() == 3.0 and step(x, x).item() == 3.0
    assert step(x, y).item() == -4.0 and step(x, y).item() == -4.0 and step(x, y).item() == -4.0
    assert step(y, y).item() == 10.0


def test_a_parameter_frozen_or_unfrozen_after_the_recording_is_recorded_anew() -> None:
    w, b = cr.tensor([0.5, -1.0], requires_grad=True), cr.tensor([0.25, 2.0], requires_grad=True)
    step = cr.trace(lambda x: (cr.tanh(x * w) * b).sum())
    x = np.array([1.0, 2.0])
    step(x), step(x)
    for frozen in (True, False, True):
        b.requires_grad = not frozen
        w.grad = b.grad = None
        step(x)
        replayed = (w.grad, b.grad)
        w.grad = b.grad = None
        (cr.tanh(cr.tensor(x) * w) * b).sum().backward()
        assert np.array_equal(replayed[0], w.grad) and (replayed[1] is None) == frozen == (b.grad is None)


def test_a_parameter_given_a_shape_that_still_broadcasts_is_refused() -> None:
    b = cr.tensor(np.zeros(3), requires_grad=True, name="b")
    step = cr.trace(lambda x: (x + b).sum())
    step(np.ones((2, 3))), step(np.ones((2, 3)))
    b.data = np.zeros(1)  # x + b still computes, but b's gradient would keep the recorded shape (3,)
    with pytest.raises(cr.GraphError, match=r"trace: 'b' was \(3,\) float64 when f was recorded and is now \(1,\)"):
        step(np.ones((2, 3)))


def test_a_users_subclass_of_a_built_in_op_gets_the_checks_of_eager_mode() -> None:
    class WrongShape(cr.ops.elementwise.Add):
        name = "wrongshape"

        def backward(self, grad_out):
            return np.ones(5), grad_out

    class OnlySecond(cr.ops.elementwise.Mul):
        name = "onlysecond"

        def backward(self, grad_out):
            return None, grad_out * self.a

    a, b = cr.tensor(np.ones(3), requires_grad=True), cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(cr.ShapeError, match="wrongshape: backward returned a gradient of shape"):
        cr.trace(lambda: WrongShape.apply(a, b).sum())()
    step = cr.trace(lambda: OnlySecond.apply(a, b).sum())
    for _ in range(3):
        a.grad = b.grad = None
        step()
        assert a.grad is None and np.array_equal(b.grad, np.ones(3))
