"""Optimizers: PyTorch's update rules exactly, the seed's Nesterov method, and exact resumption."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

TORCH_SETTINGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True}),
    ("adam", {"lr": 0.03, "betas": (0.5, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    ("adamw", {}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.3}),
    ("adamw", {"lr": 0.01, "betas": (0.7, 0.95), "eps": 1e-5, "weight_decay": 0.05, "amsgrad": True}),
]
OURS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW}


@pytest.mark.parametrize(("kind", "settings"), TORCH_SETTINGS, ids=lambda value: str(value))
def test_same_parameters_as_torch_optim_over_20_steps(kind, settings, torch, rng) -> None:
    start = [rng.normal(size=(3, 4)), rng.normal(size=(4,)), np.array(rng.normal())]  # 0-d: SGD's own path
    gradients = [[rng.normal(size=p.shape) for p in start] for _ in range(20)]
    ours = [cr.tensor(p, requires_grad=True) for p in start]
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    optimizer = OURS[kind](ours, **settings)
    reference = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind](theirs, **settings)
    for step_gradients in gradients:
        for mine, other, gradient in zip(ours, theirs, step_gradients):
            mine.grad = gradient.copy()
            other.grad = torch.tensor(gradient)
        optimizer.step()
        reference.step()
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-12, atol=1e-12)


def quadratic_gradient(point: np.ndarray) -> np.ndarray:
    """∇f for f(p) = ½ pᵀ H p − bᵀ p with a fixed ill-conditioned H."""
    hessian = np.array([[3.0, 0.5], [0.5, 0.2]])
    return hessian @ point - np.array([1.0, -1.0])


def nag_by_hand(start: np.ndarray, lr: float, steps: int, gradient_at: str) -> list[np.ndarray]:
    """The seed's formulas written out: returns the points p₂ … p_{steps+1}."""
    t, point, previous, points = 1.0, start.copy(), start.copy(), []
    for _ in range(steps):
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        look_ahead = point + ((t - 1) / t_next) * (point - previous)
        where = look_ahead if gradient_at == "q" else point  # "p" is the bug the reviewer marked
        previous, point = point, look_ahead - lr * quadratic_gradient(where)
        t = t_next
        points.append(point.copy())
    return points


def run_nag(start: np.ndarray, lr: float, steps: int) -> list[np.ndarray]:
    w = cr.tensor(start, requires_grad=True)
    optimizer = optim.NAG([w], lr=lr)
    points = []
    for _ in range(steps):
        optimizer.zero_grad()
        w.grad = quadratic_gradient(w.data)  # the gradient at whatever the parameters hold
        optimizer.step()
        points.append(optimizer.iterate(0).copy())
    return points


def test_nag_follows_the_seed_formulas_with_the_gradient_at_the_look_ahead_point() -> None:
    start = np.array([2.0, -3.0])
    ours = run_nag(start, lr=0.2, steps=5)
    correct = nag_by_hand(start, lr=0.2, steps=5, gradient_at="q")
    buggy = nag_by_hand(start, lr=0.2, steps=5, gradient_at="p")
    for mine, right in zip(ours, correct):
        np.testing.assert_allclose(mine, right, rtol=1e-14, atol=1e-15)
    # the first step has no momentum yet, so both agree there; from the second they part
    np.testing.assert_allclose(buggy[0], correct[0])
    assert np.max(np.abs(ours[4] - buggy[4])) > 1e-3


def test_nag_through_backward_on_a_network_parameter() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.NAG([w], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        (w * w * w).sum().backward()  # the gradient is taken where the parameters are: at q
        optimizer.step()
    t, point, previous = 1.0, np.array([1.0, 2.0]), np.array([1.0, 2.0])
    for _ in range(3):
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        q = point + ((t - 1) / t_next) * (point - previous)
        previous, point, t = point, q - 0.1 * 3 * q * q, t_next
    np.testing.assert_allclose(optimizer.iterate(0), point, rtol=1e-14)


def test_sutskever_and_pytorch_nesterov_forms_agree_for_constant_momentum(rng) -> None:
    """PyTorch's parameters φₖ equal Sutskever's look-ahead point θₖ + μvₖ at every step."""
    lr, momentum = 0.1, 0.9
    theta, velocity = np.array([2.0, -3.0]), np.zeros(2)
    phi = cr.tensor(theta.copy(), requires_grad=True)
    optimizer = optim.SGD([phi], lr=lr, momentum=momentum, nesterov=True)
    for _ in range(25):
        velocity = momentum * velocity - lr * quadratic_gradient(theta + momentum * velocity)
        theta = theta + velocity
        phi.grad = quadratic_gradient(phi.data)
        optimizer.step()
        np.testing.assert_allclose(phi.data, theta + momentum * velocity, rtol=1e-12, atol=1e-12)


def test_nag_is_sutskevers_form_with_the_momentum_schedule() -> None:
    """NAG = Sutskever's look-ahead with μₖ = (tₖ − 1)/tₖ₊₁ instead of a constant μ."""
    lr, steps = 0.2, 10
    theta, velocity, t = np.array([2.0, -3.0]), np.zeros(2), 1.0
    for _ in range(steps):
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        momentum = (t - 1) / t_next
        velocity = momentum * velocity - lr * quadratic_gradient(theta + momentum * velocity)
        theta, t = theta + velocity, t_next
    np.testing.assert_allclose(run_nag(np.array([2.0, -3.0]), lr, steps)[-1], theta, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.NAG(p, lr=0.1),
        lambda p: optim.Adam(p, lr=0.05),
        lambda p: optim.Adam(p, lr=0.05, amsgrad=True),
        lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.1, amsgrad=True),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1),
    ],
    ids=["momentum", "nag", "adam", "amsgrad", "adamw", "nesterov+decay"],
)
def test_resuming_from_state_equals_an_uninterrupted_run(make) -> None:
    def loss(w):
        return cr.squared_norm(cr.tanh(w) - 0.3) + (w * w * w).sum() * 0.01

    def train(w, optimizer, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            loss(w).backward()
            optimizer.step()

    start = np.array([[1.0, -0.5], [0.25, 2.0]])
    straight = cr.tensor(start, requires_grad=True)
    train(straight, make([straight]), 12)

    first = cr.tensor(start, requires_grad=True)
    optimizer = make([first])
    train(first, optimizer, 5)
    saved_values, saved_state = first.data.copy(), optimizer.state_dict()
    train(first, optimizer, 3)  # state_dict() is a copy: later steps do not change it
    resumed = cr.tensor(saved_values, requires_grad=True)
    fresh = make([resumed])
    fresh.load_state_dict(saved_state)
    train(resumed, fresh, 7)
    np.testing.assert_array_equal(resumed.data, straight.data)


def test_optimizer_mistakes_are_explained() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: got no parameters to optimize"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameter 0 is not a tensor with requires_grad=True"):
        optim.SGD([cr.tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="SGD: lr must not be negative, got -0.1"):
        optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum greater than 0"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: betas must lie in"):
        optim.Adam([w], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="state of a Adam optimizer given to SGD"):
        optim.SGD([w], lr=0.1).load_state_dict(optim.Adam([w]).state_dict())


def test_parameters_without_gradient_are_left_alone() -> None:
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    optimizer = optim.Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    optimizer.step()
    assert b.data[0] == 2.0 and a.data[0] != 1.0
    assert repr(optim.GD([a], lr=0.5)) == "SGD(lr=0.5, momentum=0.0, nesterov=False, weight_decay=0.0)"


BAD_HYPERPARAMETERS = [
    (optim.SGD, {"lr": float("nan")}, ValueError, "SGD: lr must be a finite number, got nan"),
    (optim.SGD, {"lr": float("inf")}, ValueError, "SGD: lr must be a finite number, got inf"),
    (optim.SGD, {"lr": "0.1"}, TypeError, "SGD: lr must be a number, got the string '0.1'"),
    (optim.SGD, {"lr": True}, TypeError, "SGD: lr must be a number, got True"),
    (optim.SGD, {"lr": 0.1, "momentum": float("nan")}, ValueError, "SGD: momentum must be a finite number, got nan"),
    (optim.SGD, {"lr": 0.1, "momentum": -0.9}, ValueError, "SGD: momentum must not be negative, got -0.9"),
    (optim.SGD, {"lr": 0.1, "weight_decay": "0"}, TypeError, "SGD: weight_decay must be a number, got the string"),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": "yes"}, TypeError, "SGD: nesterov must be True or False"),
    (optim.NAG, {"lr": float("-inf")}, ValueError, "NAG: lr must be a finite number, got -inf"),
    (optim.Adam, {"lr": None}, TypeError, "Adam: lr must be a number, got None"),
    (optim.Adam, {"betas": (float("nan"), 0.9)}, ValueError, "Adam: beta1 must be a finite number, got nan"),
    (optim.Adam, {"betas": (0.9, -0.1)}, ValueError, "Adam: beta2 must not be negative, got -0.1"),
    (optim.Adam, {"betas": 0.9}, TypeError, r"Adam: betas must be a pair of numbers \(beta1, beta2\), got 0.9"),
    (optim.Adam, {"eps": -1e-8}, ValueError, "Adam: eps must not be negative, got -1e-08"),
    (optim.Adam, {"weight_decay": float("inf")}, ValueError, "Adam: weight_decay must be a finite number, got inf"),
]


@pytest.mark.parametrize(("kind", "settings", "error", "message"), BAD_HYPERPARAMETERS, ids=lambda value: str(value))
def test_bad_hyperparameters_are_refused_when_the_optimizer_is_built(kind, settings, error, message) -> None:
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(error, match=message) as caught:
        kind([w], **settings)
    assert "\n" not in str(caught.value)


def test_numpy_hyperparameters_are_stored_as_python_floats() -> None:
    w = cr.tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    optimizer = optim.SGD([w], lr=np.float64(0.5), momentum=np.float32(0.25))
    assert optimizer.hyperparameters["lr"] == 0.5 and type(optimizer.hyperparameters["lr"]) is float
    w.grad = np.array([2.0], dtype=np.float32)
    optimizer.step()
    assert w.data.dtype == np.float32 and w.data[0] == np.float32(0.0)


def test_the_parameters_given_must_be_distinct_leaf_tensors_that_require_grad() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    net = cr.nn.Linear(2, 1, rng=0)
    with pytest.raises(
        ValueError, match="SGD: parameter 2 is the same tensor as parameter 0; list each parameter once"
    ):
        optim.SGD([w, cr.tensor([2.0], requires_grad=True), w], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: got the model itself \(a Linear\); pass model.parameters\(\)"):
        optim.SGD(net, lr=0.1)
    with pytest.raises(TypeError, match=r"Adam: pass a list of tensors, e.g. Adam\(\[w\], ...\), not a single tensor"):
        optim.Adam(w)
    with pytest.raises(TypeError, match="SGD: parameter 1 is 2.0, not a chainrule tensor"):
        optim.SGD([w, 2.0], lr=0.1)
    with pytest.raises(TypeError, match="SGD: params must be a list of tensors such as model.parameters"):
        optim.SGD(3, lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameter 0 is not a tensor with requires_grad=True; create it"):
        optim.SGD([cr.tensor([1.0])], lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameter 0 was computed by an op, so backward gives it no .grad"):
        optim.SGD([w * 2], lr=0.1)


def test_a_loaded_state_has_its_hyperparameters_checked_too() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    state = optim.SGD([w], lr=0.1).state_dict()
    state["hyperparameters"]["lr"] = float("nan")
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match=r"^load_state_dict: lr must be a finite number, got nan"):
        opt.load_state_dict(state)
    assert opt.hyperparameters["lr"] == 0.1  # unchanged
    del state["hyperparameters"]["lr"]
    with pytest.raises(ValueError, match=r"^load_state_dict: the state's hyperparameters"):
        opt.load_state_dict(state)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_and_amsgrad_follow_torch_over_300_steps_of_a_real_loss(amsgrad, torch, rng) -> None:
    """Gradients from the parameters themselves (not fed in), so any difference would feed back and grow."""
    target = rng.normal(size=(5, 3))
    start = rng.normal(size=(5, 3))
    ours = cr.tensor(start, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    optimizer = optim.AdamW([ours], lr=0.05, weight_decay=0.2, amsgrad=amsgrad)
    reference = torch.optim.AdamW([theirs], lr=0.05, weight_decay=0.2, amsgrad=amsgrad)
    for _ in range(300):
        optimizer.zero_grad()
        (cr.tanh(ours * 3.0) - target).__pow__(2).sum().backward()
        optimizer.step()
        reference.zero_grad()
        ((torch.tanh(theirs * 3.0) - torch.tensor(target)) ** 2).sum().backward()
        reference.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    if amsgrad:  # the running maximum is what PyTorch keeps as max_exp_avg_sq
        np.testing.assert_allclose(
            optimizer.state[0]["v_max"], reference.state[theirs]["max_exp_avg_sq"].numpy(), rtol=1e-10
        )


def test_amsgrad_never_lets_the_second_moment_shrink() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    optimizer = optim.Adam([w], lr=0.1, amsgrad=True)
    for gradient in [10.0, 0.1, 0.1, 0.1]:
        w.grad = np.array([gradient])
        optimizer.step()
    state = optimizer.state[0]
    assert state["v"][0] < state["v_max"][0] == pytest.approx(1e-3 * 100)


def test_adamw_decays_the_weights_without_touching_the_moments() -> None:
    w = cr.tensor([2.0], requires_grad=True)
    optimizer = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = np.array([0.0])
    optimizer.step()  # zero gradient: only the decay moves the weight
    assert w.data[0] == pytest.approx(2.0 * (1 - 0.1 * 0.5), abs=1e-15)
    assert optimizer.state[0]["m"][0] == 0 and optimizer.state[0]["v"][0] == 0
    assert optim.AdamW([cr.tensor([1.0], requires_grad=True)]).weight_decay == 0.01  # PyTorch's default


def test_param_groups_is_the_hyperparameter_dictionary() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.5)
    assert optimizer.param_groups[0]["lr"] == 0.5
    optimizer.param_groups[0]["lr"] = 0.25
    w.grad = np.array([1.0])
    optimizer.step()
    assert w.data[0] == 0.75 and optimizer.lr == 0.25


@pytest.mark.parametrize("grad, start", [(0.5, 1.0), (np.float64(0.5), 1.0), ([0.5, 0.5], [1.0, 2.0])])
@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"weight_decay": 0.0}])
def test_a_grad_set_by_hand_to_a_number_is_used_as_an_array(grad, start, options) -> None:
    w = cr.tensor(start, requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1, **options)
    w.grad = grad
    optimizer.step()
    np.testing.assert_array_equal(w.data, np.array(start) - 0.1 * 0.5)


OPTIMIZERS = [
    lambda params: optim.SGD(params, lr=0.1),
    lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda params: optim.NAG(params, lr=0.1),
    lambda params: optim.Adam(params, lr=0.1),
    lambda params: optim.AdamW(params, lr=0.1),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize(
    "shape, grad",
    [
        ((2, 3), np.ones(1)),  # NumPy would spread it over all six entries
        ((2, 3), np.ones(3)),  # ... or over both rows
        ((2, 3), np.ones((1, 3))),
        ((3,), np.ones((1, 3))),  # NumPy would make the update (1, 3) and fail or keep it
        ((3,), 0.5),  # a number for a parameter of three entries
        ((), np.ones(1)),
        ((), np.ones((1, 1))),
        ((2,), np.ones(3)),
    ],
)
def test_a_grad_of_another_shape_is_refused_naming_the_parameter(make, shape, grad) -> None:
    w = cr.tensor(np.full(shape, 2.0), requires_grad=True, name="w")
    v = cr.tensor([1.0], requires_grad=True)
    optimizer = make([v, w])
    v.grad, w.grad = np.array([1.0]), grad
    before = w.data.copy()
    with pytest.raises(
        cr.ShapeError, match=r"step: parameter 1 \('w'\) has a \.grad of shape .* not the parameter's shape"
    ):
        optimizer.step()
    np.testing.assert_array_equal(w.data, before)  # nothing of w was changed


def test_a_grad_that_is_not_numbers_is_refused_in_one_line() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    w.grad = "0.5"
    with pytest.raises(cr.DTypeError, match="not real numbers"):
        optim.SGD([w], lr=0.1).step()


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("shape", [(), (2,)])
@pytest.mark.parametrize("grad", [np.array(1j), np.array("a"), np.array(None, dtype=object)])
def test_a_grad_of_complex_or_other_non_real_values_is_refused(make, shape, grad) -> None:
    w = cr.tensor(np.ones(shape), requires_grad=True)
    optimizer = make([w])
    w.grad = np.broadcast_to(grad, shape).copy()  # complex: the update would drop the imaginary part, silently
    with pytest.raises(cr.DTypeError, match=r"\.grad is .*, not real numbers"):
        optimizer.step()
    np.testing.assert_array_equal(w.data, np.ones(shape))


def test_a_float32_grad_for_a_float64_parameter_still_updates_it() -> None:
    for shape in [(), (2,)]:
        w = cr.tensor(np.ones(shape), requires_grad=True)
        w.grad = np.full(shape, 0.5, dtype=np.float32)
        optim.SGD([w], lr=0.1).step()
        np.testing.assert_array_equal(w.data, np.ones(shape) - 0.1 * np.float32(0.5))  # NumPy's rules: 0.05 in float32


@pytest.mark.parametrize("make", OPTIMIZERS[1:])  # plain SGD keeps no buffers
def test_a_state_whose_buffers_have_other_shapes_is_refused(make) -> None:
    small, large = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    source = make([small])
    small.grad = np.array([0.5])
    source.step()
    target = make([large])
    with pytest.raises(cr.ShapeError, match=r"load_state_dict: the state's '\w+' of parameter 0 has shape \(1,\), "):
        target.load_state_dict(source.state_dict())
