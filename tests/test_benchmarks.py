"""The benchmarks' correctness checks, on tiny sizes: every implementation computes the same step.

Only behaviour is tested here, never timings.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.workloads import WORKLOADS, available, check_agreement


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_implementations_agree_on_a_tiny_problem(name, torch) -> None:
    workload = WORKLOADS[name]
    implementations = [i for i in workload.implementations if available(i)]
    assert {"numpy", "chainrule", "chainrule-traced", "torch"} <= set(implementations)
    differences = check_agreement(workload, workload.tiny(), implementations)
    assert max(differences.values()) <= workload.tolerance


def test_traced_and_eager_steps_are_identical_over_several_steps() -> None:
    for name in ("three-matrix", "iris", "scalar", "wide-mlp", "digits-cnn", "wide-cnn"):
        workload = WORKLOADS[name]
        problem = workload.tiny()
        eager = workload.implementations["chainrule"](problem)
        traced = workload.implementations["chainrule-traced"](problem)
        for _ in range(4):
            eager_loss, eager_grads = eager()
            traced_loss, traced_grads = traced()
            assert traced_loss == eager_loss
            for key in eager_grads:
                np.testing.assert_array_equal(traced_grads[key], eager_grads[key])


def test_a_wrong_implementation_is_caught() -> None:
    workload = WORKLOADS["iris"]
    broken = dict(workload.implementations)
    original = broken["chainrule"]

    def off_by_a_little(problem):
        step = original(problem)

        def wrong():
            loss, grads = step()
            return loss, {key: value * 1.001 for key, value in grads.items()}

        return wrong

    broken["chainrule"] = off_by_a_little
    with pytest.raises(AssertionError, match="iris: chainrule differs from hand NumPy"):
        check_agreement(
            type(workload)(**{**workload.__dict__, "implementations": broken}), workload.tiny(), ["chainrule"]
        )


def test_the_gradient_cost_and_memory_jobs_run() -> None:
    from benchmarks import run

    cost = run.gradient_cost(quick=True)
    assert cost["parameters"] == 4 * 16 + 16 + 16 * 3 + 3
    assert cost["backprop"] > 0 and cost["finite differences"] > 0
    peak = run.memory(quick=True)
    assert peak["layers"] == 10 and peak["numpy"] > 0 and peak["chainrule"] > 0
    peak = run.cnn_memory(quick=True)
    assert peak["batch"] == 16 and min(peak["numpy"], peak["chainrule"], peak["chainrule-traced"]) > 0


def test_the_digits_cnn_agrees_on_real_digits_whose_blank_areas_tie_in_the_pooling(torch) -> None:
    """Blank pixels give equal convolution outputs: each implementation must route a pooled gradient to one of them."""
    workload = WORKLOADS["digits-cnn"]
    problem = workload.problem()
    differences = check_agreement(workload, problem, ["chainrule", "chainrule-traced", "torch"])
    assert max(differences.values()) <= 1e-10


def test_the_table_judges_each_target_from_the_times_given() -> None:
    from benchmarks import run

    def result(name, chainrule, traced):
        times = {"numpy": 1e-5, "chainrule": 9e-5, "chainrule-traced": 9e-5}  # the ratios are judged, not these
        return {
            "name": name,
            "title": name,
            "times": times,
            "ratios": {"chainrule": chainrule, "chainrule-traced": traced},
        }

    rows = run.table([result("three-matrix", 1.49, 1.6), result("iris", 1.2, 1.16), result("scalar", 3.7, 1.3)])
    three_matrix, iris, scalar = rows.splitlines()[2:]
    assert three_matrix.endswith("chainrule ≤ 1.5×: met; chainrule traced ≤ 1.5×: not met |")
    assert "| 1.49× | 1.60× |" in three_matrix
    assert iris.endswith("chainrule ≤ 1.5×: met; chainrule traced ≤ 1.15×: not met |")
    assert scalar.endswith("chainrule traced ≤ 2.0×: met; eager not judged: floor ≈ 3× |")
    assert "| 3.70× | 1.30× |" in scalar


def test_ratios_are_paired_round_by_round() -> None:
    from benchmarks import run

    # a slow spell doubles every time in round 2: the paired ratio does not move, the medians' ratio does
    samples = {"numpy": [1.0, 2.0, 1.0, 2.0, 2.0], "chainrule": [1.2, 2.4, 1.2, 2.4, 2.4]}
    assert run.paired_ratios(samples) == {"numpy": 1.0, "chainrule": pytest.approx(1.2)}
    assert run.medians(samples) == {"numpy": 2.0, "chainrule": 2.4}
    skewed = {"numpy": [1.0, 1.0, 3.0], "chainrule": [3.0, 3.3, 3.3]}
    assert run.paired_ratios(skewed)["chainrule"] == pytest.approx(3.0)


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_each_implementation_follows_each_other_one_equally_often(count) -> None:
    from collections import Counter

    from benchmarks import run

    orders = run.balanced_orders(count)
    assert all(sorted(order) == list(range(count)) for order in orders)
    neighbours = Counter(pair for order in orders for pair in zip(order, order[1:]))
    assert len(neighbours) == count * (count - 1)  # every ordered pair of different items
    assert len(set(neighbours.values())) == 1  # equally often
