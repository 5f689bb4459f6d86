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
    if name not in ("digits-cnn", "wide-cnn"):  # the small networks: also the step a user writes by hand
        assert {"chainrule-user", "chainrule-traced-user"} <= set(implementations)
    if name == "scalar":
        assert {"micrograd", "python"} <= set(implementations)
    differences = check_agreement(workload, workload.tiny(), implementations)
    assert max(differences.values()) <= workload.tolerance


def test_traced_and_eager_steps_are_identical_over_several_steps() -> None:
    for name in ("three-matrix", "iris", "scalar", "wide-mlp", "digits-cnn", "wide-cnn"):
        workload = WORKLOADS[name]
        problem = workload.tiny()
        pairs = [("chainrule", "chainrule-traced")]
        if "chainrule-user" in workload.implementations:
            pairs.append(("chainrule-user", "chainrule-traced-user"))
        for eager_way, traced_way in pairs:
            eager = workload.implementations[eager_way](problem)
            traced = workload.implementations[traced_way](problem)
            for _ in range(4):
                eager_loss, eager_grads = eager()
                traced_loss, traced_grads = traced()
                assert traced_loss == eager_loss
                for key in eager_grads:
                    np.testing.assert_array_equal(traced_grads[key], eager_grads[key])


@pytest.mark.parametrize("name", ["three-matrix", "three-matrix-single", "iris", "wide-mlp", "scalar"])
def test_the_hand_update_step_follows_the_optimizer_step_over_several_steps(name) -> None:
    """``w -= lr * w.grad`` under no_grad with ``.grad = None`` takes the same path as ``optim.SGD``
    (a gradient left to accumulate, or an update that missed a parameter, would part them by step 2)."""
    workload = WORKLOADS[name]
    problem = workload.tiny()
    sgd, by_hand = workload.implementations["chainrule"](problem), workload.implementations["chainrule-user"](problem)
    for _ in range(4):
        sgd_loss, sgd_grads = sgd()
        hand_loss, hand_grads = by_hand()
        assert hand_loss == pytest.approx(sgd_loss, rel=1e-14)  # three-matrix: (w * w).sum() against squared_norm
        for key in sgd_grads:
            np.testing.assert_allclose(hand_grads[key], sgd_grads[key], rtol=1e-14, atol=0)


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


def _result(name: str, ratios: dict[str, float], samples: dict[str, list[float]] | None = None) -> dict:
    """One workload's result in one run, as a worker returns it (only the ratios are judged)."""
    times = {"numpy": 1e-5, **{implementation: 9e-5 for implementation in ratios}}
    return {"name": name, "title": name, "times": times, "ratios": ratios, "samples": samples or {}}


def test_the_table_judges_each_target_from_the_ratios_given() -> None:
    from benchmarks import report

    eager = {"chainrule": 1.29, "chainrule-user": 1.31, "chainrule-traced": 1.05, "chainrule-traced-user": 1.0}
    rows = report.table([[_result("three-matrix", eager), _result("wide-cnn", {"chainrule": 1.2})]])
    header, _, three_matrix, cnn = rows.splitlines()
    assert header.startswith("| workload | hand NumPy | chainrule (SGD) | chainrule (hand update) | traced (SGD) |")
    assert "| 1.00 (10.0 µs) | 1.29× | 1.31× | 1.05× | 1.00× |" in three_matrix
    assert three_matrix.endswith("| 3 of 4 met |")
    assert "| 1.20× | – | – | – |" in cnn  # no hand-update or traced columns for the CNN here
    assert cnn.endswith("| 1 of 1 met (1 not judged) |")
    readme = report.table([[_result("three-matrix", eager)]], columns=["numpy", "chainrule-traced", "chainrule"])
    assert readme.splitlines()[0] == "| workload | hand NumPy | traced (SGD) | chainrule (SGD) |"
    assert readme.splitlines()[2] == "| three-matrix | 1.00 (10.0 µs) | 1.05× | 1.29× |"


def test_over_several_runs_the_table_shows_the_median_and_the_worst_and_judges_the_worst() -> None:
    from benchmarks import report

    runs = [
        [_result("iris", {"chainrule": 1.2, "chainrule-traced": 1.04})],
        [_result("iris", {"chainrule": 1.25, "chainrule-traced": 1.06})],  # traced misses 1.05 in one run
        [_result("iris", {"chainrule": 1.1, "chainrule-traced": 1.03})],
    ]
    row = report.table(runs).splitlines()[2]
    assert "| 1.20× (1.25×) | 1.04× (1.06×) |" in row
    assert row.endswith("| 1 of 2 met (2 not judged) |")
    text = report.targets_report(runs)
    assert "chainrule (SGD) ≤ 1.3×: worst 1.25 (runs: 1.20, 1.25, 1.10): met" in text
    assert "traced (SGD) ≤ 1.05×: worst 1.06 (runs: 1.04, 1.06, 1.03): NOT MET" in text
    assert "traced (hand update) ≤ 1.05×: not judged (traced (hand update) did not run)" in text
    assert text.endswith("Targets met: 1 of 2 judged (2 not judged).")


def test_a_target_against_another_implementation_is_paired_round_by_round() -> None:
    from benchmarks import report

    # chainrule is 0.9× micrograd in every round, though the medians' ratio would say 1.0×
    samples = {"numpy": [1.0, 1.0, 1.0], "chainrule": [1.8, 2.7, 4.5], "micrograd": [2.0, 3.0, 5.0]}
    ratios = report.paired_ratios(samples)
    result = _result("scalar", {k: ratios[k] for k in ("chainrule", "micrograd")}, samples)
    target = report.Target("chainrule", 1.0, "micrograd")
    assert report.target_ratio(result, target) == pytest.approx(0.9)
    text = report.targets_report([[result]])
    assert "chainrule (SGD) ≤ 1.0 × micrograd-style (pure Python): worst 0.90 (runs: 0.90): met" in text
    assert "chainrule (SGD) ≤ 2.0×: worst 2.70 (runs: 2.70): NOT MET" in text
    assert "traced (SGD) ≤ 0.5 × JAX jit: not judged (traced (SGD) did not run)" in text
    assert "chainrule (hand update) ≤ 1.0 × micrograd-style (pure Python): not judged" in text


def test_ratios_are_paired_round_by_round() -> None:
    from benchmarks import report

    # a slow spell doubles every time in round 2: the paired ratio does not move, the medians' ratio does
    samples = {"numpy": [1.0, 2.0, 1.0, 2.0, 2.0], "chainrule": [1.2, 2.4, 1.2, 2.4, 2.4]}
    assert report.paired_ratios(samples) == {"numpy": 1.0, "chainrule": pytest.approx(1.2)}
    assert report.medians(samples) == {"numpy": 2.0, "chainrule": 2.4}
    skewed = {"numpy": [1.0, 1.0, 3.0], "chainrule": [3.0, 3.3, 3.3]}
    assert report.paired_ratios(skewed)["chainrule"] == pytest.approx(3.0)


def test_a_kept_run_prints_again_from_its_file(tmp_path, capsys, monkeypatch) -> None:
    import json
    import sys

    from benchmarks import report, run

    kept = {
        "machine": {"cpu": "Test CPU", "cores": "2"},
        "quick": False,
        "runs": [[_result("wide-mlp", {"chainrule": 1.02, "chainrule-traced": 1.04})]],
        "extras": {},
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(kept), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["run.py", "--from", str(path)])
    assert run.main() == 0
    printed = capsys.readouterr().out
    assert printed.startswith("chainrule benchmarks on cpu Test CPU, cores 2\n")
    assert report.table(kept["runs"]) in printed
    assert "traced (SGD) ≤ 1.03×: worst 1.04 (runs: 1.04): NOT MET" in printed


def test_the_machine_names_the_processor_and_the_libraries() -> None:
    from benchmarks import report

    info = report.machine()
    assert {"cpu", "cores", "python", "numpy", "blas", "torch", "jax"} <= set(info)
    assert info["cpu"] and info["cores"].isdigit()


def test_the_rounds_go_through_whole_cycles_of_the_balanced_orders() -> None:
    from benchmarks import run

    calls = []
    steps = {name: (lambda name=name: calls.append(name)) for name in "abc"}  # 3 items: 6 orders
    samples = run.time_steps(steps, rounds=4, budget=0.0)
    assert {name: len(values) for name, values in samples.items()} == {"a": 6, "b": 6, "c": 6}


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_each_implementation_follows_each_other_one_equally_often(count) -> None:
    from collections import Counter

    from benchmarks import run

    orders = run.balanced_orders(count)
    assert all(sorted(order) == list(range(count)) for order in orders)
    neighbours = Counter(pair for order in orders for pair in zip(order, order[1:]))
    assert len(neighbours) == count * (count - 1)  # every ordered pair of different items
    assert len(set(neighbours.values())) == 1  # equally often


def test_several_runs_go_through_every_workload_in_turn_and_the_extra_jobs_once(monkeypatch, capsys, tmp_path) -> None:
    import json

    from benchmarks import run
    from benchmarks.workloads import WORKLOADS

    calls = []

    def fake_process(arguments):
        calls.append(arguments[1])
        if arguments[1] in WORKLOADS:
            return {**_result(arguments[1], {"chainrule": 1.0}), "agreement": {"chainrule": 0.0}}
        return {"job": arguments[1]}

    monkeypatch.setattr(run, "run_in_fresh_process", fake_process)
    kept = tmp_path / "runs.json"
    report = run.run_all(["iris", "scalar"], runs=3, quick=True, keep=kept)
    assert calls == ["iris", "scalar"] * 3  # no extra jobs for a subset of the workloads
    assert json.loads(kept.read_text(encoding="utf-8")) == report
    assert [[r["name"] for r in results] for results in report["runs"]] == [["iris", "scalar"]] * 3
    assert report["extras"] == {} and report["quick"] is True and "cpu" in report["machine"]
    assert "run 3/3, scalar: implementations agree to 0.0e+00" in capsys.readouterr().out
    calls.clear()
    report = run.run_all(list(WORKLOADS), runs=2, quick=False)
    assert calls == list(WORKLOADS) * 2 + ["gradient-cost", "memory", "cnn-memory"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--runs", "0"], "--runs: expected a whole number of runs, at least 1, got 0"),
        (["--only", "irsi"], "--only: unknown workload 'irsi'; the workloads are three-matrix,"),
        (["--columns", "numpy,pytorch"], "--columns: unknown column 'pytorch'; the columns are numpy,"),
    ],
)
def test_bad_options_are_refused_with_one_line(arguments, message, monkeypatch, capsys) -> None:
    import sys

    from benchmarks import run

    monkeypatch.setattr(sys, "argv", ["run.py", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        run.main()
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_ab_tool_times_each_step_in_both_trees(capsys, tmp_path) -> None:
    import shutil
    from pathlib import Path

    from benchmarks import ab

    root = Path(__file__).resolve().parents[1]
    other = tmp_path / "other checkout"
    for folder in ("src", "benchmarks"):
        shutil.copytree(root / folder, other / folder, ignore=shutil.ignore_patterns("__pycache__"))
    steps = ["scalar:chainrule-traced", "iris:numpy"]
    ab.main([str(root), str(other), "--rounds", "1", "--batches", "2", "--batch", "1", "--only", ",".join(steps)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"before: {root} (") and lines[1].startswith(f"after: {other} (")
    lines = lines[2:]
    assert [line.split()[0] for line in lines[1:]] == steps
    for line in lines[1:]:
        before, after, ratio = line.split()[1:]
        assert float(before.removesuffix("µs")) > 0 and float(after.removesuffix("µs")) > 0
        assert float(ratio) == pytest.approx(
            float(after.removesuffix("µs")) / float(before.removesuffix("µs")), rel=0.01
        )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--only", "scalar"], "is not a step; write workload:implementation"),
        (["--rounds", "0"], "--rounds: expected a whole number, at least 1"),
        (["--same"], "the two trees are the same folder"),
        (["--not-a-tree"], "is not a checkout of chainrule"),
    ],
)
def test_the_ab_tool_refuses_bad_input_in_one_line(capsys, tmp_path, arguments, message) -> None:
    from pathlib import Path

    from benchmarks import ab

    root = str(Path(__file__).resolve().parents[1])
    trees = [root, root] if arguments == ["--same"] else [str(tmp_path), root]
    if arguments in (["--same"], ["--not-a-tree"]):
        arguments = []
    elif arguments:
        trees = [root, str(tmp_path)]  # the options are checked before the trees
    with pytest.raises(SystemExit):
        ab.main([*trees, *arguments])
    assert message in capsys.readouterr().err


def test_the_floors_count_each_graph_s_ops_and_the_micrograd_engine_s() -> None:
    from benchmarks import floors, mlps
    from benchmarks import small_networks as small

    scalar = WORKLOADS["scalar"].problem()
    # x·w four and two times, three additions, three σ, the subtraction of y and the square
    assert floors.graph_ops(small.scalar_model, scalar) == 14 == floors.micrograd_ops(scalar)
    batch = WORKLOADS["three-matrix"].tiny()
    assert floors.graph_ops(small.three_matrix_model, batch) == 7  # 3 products, σ, +, squared norm, ÷ batch
    assert floors.graph_ops(small.three_matrix_user_model, batch) == 8  # w·w and sum for the squared norm
    assert floors.graph_ops(mlps.iris_model, WORKLOADS["iris"].tiny()) == 4  # linear, softplus, linear, loss


def test_the_floors_tool_refuses_an_unknown_workload_in_one_line(capsys) -> None:
    from benchmarks import floors

    with pytest.raises(SystemExit):
        floors.main(["--only", "scalar,wide"])
    assert (
        "unknown workload 'wide'; choose from three-matrix, three-matrix-single, iris, scalar"
        in capsys.readouterr().err
    )
