"""chainrule.distributed on Dask: sweeps equal serial runs, partitioned gradients equal one process's.

Most tests share one in-process cluster (two worker threads); the command line's compare runs
on worker processes on 127.0.0.1, and one test kills a worker process in the middle of
training. Without Dask installed these skip (CHAINRULE_REQUIRE_DASK=1, set by .ci/run, makes
them fail instead), except the tests of what happens without it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.cli import main
from chainrule.distributed import (
    INSTALL,
    FullBatch,
    PartitionError,
    Partitions,
    grid_points,
    sweep,
    three_matrix_partitions,
    three_matrix_sum,
    train_full_batch,
    train_three_matrix,
)
from chainrule.examples import iris, three_matrix

ROOT = Path(__file__).resolve().parent.parent


def _dask_or_skip() -> None:
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CHAINRULE_REQUIRE_DASK") == "1":
            pytest.fail(f"CHAINRULE_REQUIRE_DASK=1 but Dask is not installed: {INSTALL}")
        pytest.skip(f"Dask is not installed ({INSTALL})")


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process: quick to start, the same arithmetic as processes."""
    _dask_or_skip()
    from chainrule.distributed import connect

    with connect(workers=2, processes=False) as in_process:
        yield in_process


@pytest.fixture
def in_process_commands(client, monkeypatch):
    """The command line's embedded cluster replaced by the shared in-process one."""
    import contextlib

    import chainrule.distributed

    monkeypatch.setattr(
        chainrule.distributed, "connect", lambda **options: contextlib.nullcontext(client), raising=True
    )


# ---- without Dask -------------------------------------------------------------------------------------------


def test_importing_chainrule_and_its_command_line_imports_no_dask() -> None:
    code = "import sys, chainrule, chainrule.cli, chainrule.distributed; print(sorted({'dask', 'distributed'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.fixture
def without_dask(monkeypatch):
    """Dask as if it were not installed: importing it fails."""
    for name in ("dask", "dask.array", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["compare", "iris", "--epochs", "3", "--workers", "2"], "--workers"),
        (["compare", "iris", "--epochs", "3", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler"),
        (["demo", "abc", "--partitions", "4"], "--partitions"),
    ],
)
def test_without_dask_the_commands_say_how_to_install_it_in_one_line(without_dask, capsys, argv, option) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"chainrule {argv[0]}: {option} needs Dask's distributed scheduler: "
        'pip install ".[distributed]" in the chainrule folder\n'
    )
    assert captured.out == ""


def test_without_dask_the_rest_of_chainrule_works(without_dask, capsys) -> None:
    assert main(["compare", "iris", "--optimizers", "gd", "--epochs", "3", "--quiet"]) == 0
    assert "| gd " in capsys.readouterr().out
    with pytest.raises(
        ImportError, match=r'^sweep needs Dask\'s distributed scheduler: pip install "\.\[distributed\]"'
    ):
        sweep(lambda seed: seed, {"seed": [0]})


def test_a_grid_is_every_combination_or_a_list_of_points() -> None:
    assert grid_points({"lr": [0.1, 0.01], "optimizer": ["gd"]}) == [
        {"lr": 0.1, "optimizer": "gd"},
        {"lr": 0.01, "optimizer": "gd"},
    ]
    assert grid_points([{"seed": 3}, {"seed": 1}]) == [{"seed": 3}, {"seed": 1}]
    with pytest.raises(ValueError, match="sweep: point 0 has the argument name 'result'"):
        grid_points([{"result": 1}])
    with pytest.raises(ValueError, match="sweep: the grid has no points"):
        grid_points({"lr": []})
    with pytest.raises(TypeError, match="sweep: the values of 'lr' must be a list, got 0.1"):
        grid_points({"lr": 0.1})


def test_three_matrix_partitions_are_the_rows_of_the_whole_batch() -> None:
    partitions = three_matrix_partitions(1003, 4, seed=7)
    rows = [partitions.load(index) for index in range(4)]
    assert [len(part) for part in rows] == [250, 251, 251, 251]
    np.testing.assert_array_equal(np.concatenate(rows), data.three_matrix_inputs(1003, seed=7))
    assert partitions.names[1] == "rows 250–500 of three_matrix_inputs(1003, seed=7)"


# ---- sweeps -------------------------------------------------------------------------------------------------


def test_a_sweep_keeps_the_grid_order_and_reports_failures_per_point(client) -> None:
    def divide(a, b):
        return a / b

    records = sweep(divide, {"a": [1.0, 3.0], "b": [2.0, 0.0]}, client=client, progress=False)
    assert [(r["a"], r["b"], r["result"]) for r in records] == [
        (1.0, 2.0, 0.5),
        (1.0, 0.0, None),
        (3.0, 2.0, 1.5),
        (3.0, 0.0, None),
    ]
    assert [type(r["error"]).__name__ for r in records] == ["NoneType", "ZeroDivisionError"] * 2


def test_a_sweep_of_iris_runs_gives_the_serial_histories(client) -> None:
    def run(optimizer, seed):
        history = iris.train(optimizer, epochs=15, seed=seed, progress=False).history.to_dict()
        del history["seconds"]  # timings: the one thing that differs
        return history

    records = sweep(run, {"optimizer": ["gd", "adam"], "seed": [0, 1]}, client=client, progress=False)
    assert [r["error"] for r in records] == [None] * 4
    for record in records:
        assert record["result"] == run(record["optimizer"], record["seed"])  # every number, exactly


def test_compare_on_worker_processes_prints_the_serial_table(capsys) -> None:
    _dask_or_skip()
    argv = ["compare", "iris", "--optimizers", "gd,nag", "--epochs", "40", "--repeats", "2", "--quiet"]
    assert main(argv) == 0
    serial = capsys.readouterr().out
    assert main([*argv, "--workers", "2"]) == 0  # an embedded cluster of two processes on 127.0.0.1
    assert capsys.readouterr().out == serial
    assert "| nag       | 0." in serial


def test_compare_on_a_running_cluster_given_by_its_scheduler_address(client, capsys) -> None:
    argv = ["compare", "iris", "--optimizers", "momentum", "--epochs", "10", "--repeats", "3", "--quiet"]
    assert main(argv) == 0
    serial = capsys.readouterr().out
    assert main([*argv, "--scheduler", client.scheduler.address, "--workers", "2"]) == 0
    assert capsys.readouterr().out == serial


def test_an_unreachable_scheduler_is_one_line(capsys, monkeypatch) -> None:
    _dask_or_skip()
    from chainrule.distributed import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 0.5)
    assert main(["compare", "iris", "--epochs", "3", "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert capsys.readouterr().err.startswith(
        "chainrule compare: cannot reach the Dask scheduler at tcp://127.0.0.1:1: "
    )
    monkeypatch.setattr(cluster, "WAIT_FOR_WORKERS", 0.5)
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address="127.0.0.1:0") as running:
        assert (
            main(["compare", "iris", "--epochs", "3", "--scheduler", running.scheduler_address, "--workers", "3"]) == 1
        )
    assert capsys.readouterr().err == (
        f"chainrule compare: the Dask cluster at {running.scheduler_address} has 1 worker; waited 0.5 s for 3\n"
    )
    assert main(["demo", "abc", "--samples", "3", "--partitions", "5"]) == 1
    assert (
        capsys.readouterr().err
        == "chainrule demo: --partitions 5 is more than --samples 3: at most one partition per sample\n"
    )


def test_compare_on_workers_reports_the_first_diverging_run_as_the_serial_run_does(in_process_commands, capsys) -> None:
    argv = ["compare", "iris", "--optimizers", "adam,gd", "--lr", "1e300", "--epochs", "5", "--repeats", "2", "--quiet"]
    assert main(argv) == 1
    serial = capsys.readouterr().err
    assert main([*argv, "--workers", "2"]) == 1
    assert capsys.readouterr().err == serial
    assert serial.startswith("chainrule compare: training diverged: the loss became")


# ---- full-batch gradients over partitions ----------------------------------------------------------------------


def test_the_three_matrix_gradient_over_partitions_equals_one_process(client) -> None:
    params = [cr.tensor(m, requires_grad=True) for m in (three_matrix.SEED_A, three_matrix.SEED_B, three_matrix.SEED_C)]
    with FullBatch(params, three_matrix_sum, three_matrix_partitions(5000, 5, seed=3), client) as batch:
        loss = batch.backward()
        distributed = [p.grad for p in params]
        assert batch.samples == 5000
        assert sorted(batch.placement().values()) == [2000, 3000]  # partitions 0–2 and 3–4: no worker holds all
    whole = [cr.tensor(m, requires_grad=True) for m in (three_matrix.SEED_A, three_matrix.SEED_B, three_matrix.SEED_C)]
    expected = three_matrix.loss_rows(cr.tensor(data.three_matrix_inputs(5000, seed=3)), *whole)
    expected.backward()
    assert abs(loss - expected.item()) <= 1e-10
    for got, want in zip(distributed, whole):
        np.testing.assert_allclose(got, want.grad, rtol=0, atol=1e-10)
        assert np.max(np.abs(got)) > 1  # gradients of the seed's size, not zeros


def test_partitions_go_to_every_worker_while_the_client_refreshes_its_cluster_information(client) -> None:
    """Dask's client refreshes a copy of the scheduler's information in the background, without the workers.

    A refresh finishing just after a read of ``client.scheduler_info()`` left it with no workers
    (an IndexError, seen on a loaded machine); refreshing every millisecond makes that likely.
    """
    import dask
    from distributed import Client

    workers = sorted(worker.address for worker in client.cluster.workers.values())
    with dask.config.set({"distributed.client.scheduler-info-interval": "1ms"}):
        with Client(client.scheduler.address) as refreshing:
            for _ in range(60):
                _, place = three_matrix_partitions(10, 2).load_on(refreshing)
                assert place == [[workers[0]], [workers[1]]]


def test_a_cluster_without_workers_is_named_in_one_line() -> None:
    _dask_or_skip()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0") as empty, Client(empty) as client:
        with pytest.raises(OSError, match="the Dask cluster has no workers to hold the partitions"):
            three_matrix_partitions(10, 2).load_on(client)


def test_three_matrix_training_over_partitions_equals_one_process(client) -> None:
    history, params = train_three_matrix(3000, 25, 0.01, seed=1, partitions=4, client=client)
    serial_history, serial_params = three_matrix.train(3000, 25, 0.01, seed=1)
    np.testing.assert_allclose(history, serial_history, rtol=0, atol=1e-10)
    assert history[-1] < history[0] / 10
    for got, want in zip(params, serial_params):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def _iris_problem():
    iris_data = data.load_iris()
    split = data.train_test_split(iris_data.features, iris_data.labels, seed=0)
    standardizer = data.Standardizer().fit(split.train_features)
    model = nn.Sequential(
        nn.Standardize(standardizer.mean, standardizer.std), *iris.build_network(16, "softplus", 0).layers
    )
    return model, split.train_features, split.train_labels


def _summed_cross_entropy(model, inputs, targets):
    return cr.cross_entropy(model(inputs), targets, reduction="sum")


def _iris_sources(tmp_path, features, labels):
    import dask.array as da

    bounds = [0, 30, 65, 90, 120]
    parts = [(features[a:b], labels[a:b]) for a, b in zip(bounds, bounds[1:])]
    for index, (x, y) in enumerate(parts):
        np.save(tmp_path / f"x{index}.npy", x)
        np.save(tmp_path / f"y{index}.npy", y)
    return {
        "generated": Partitions.generate(lambda index: parts[index], 4),
        "npy": Partitions.from_npy(
            [tmp_path / f"x{i}.npy" for i in range(4)], [tmp_path / f"y{i}.npy" for i in range(4)]
        ),
        "dask array": Partitions.from_dask_array(
            da.from_array(features, chunks=(40, 4)), da.from_array(labels, chunks=40)
        ),
    }


def test_the_iris_gradient_over_partitions_equals_one_process_for_every_source(client, tmp_path) -> None:
    model, features, labels = _iris_problem()
    expected = cr.cross_entropy(model(features), labels)
    expected.backward()
    wanted = [p.grad.copy() for p in model.parameters()]
    for source, partitions in _iris_sources(tmp_path, features, labels).items():
        model.zero_grad()
        with FullBatch(model, _summed_cross_entropy, partitions, client) as batch:
            loss = batch.backward()
        assert abs(loss - expected.item()) <= 1e-10, source
        for parameter, want in zip(model.parameters(), wanted):
            np.testing.assert_allclose(parameter.grad, want, rtol=0, atol=1e-10, err_msg=source)


def test_iris_nag_over_partitions_equals_fit_on_the_whole_training_set(client, tmp_path) -> None:
    model, features, labels = _iris_problem()
    serial, _, _ = _iris_problem()
    cr.fit(
        serial, optim.NAG(serial.parameters(), lr=0.05), data.DataLoader(features, labels), epochs=20, progress=False
    )
    partitions = _iris_sources(tmp_path, features, labels)["npy"]
    history = train_full_batch(
        model, _summed_cross_entropy, partitions, optim.NAG(model.parameters(), lr=0.05), 20, client=client
    )
    assert history[-1] < history[0]
    for got, want in zip(model.parameters(), serial.parameters()):
        np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda parts: parts[2][0].__setitem__((7, 1), np.nan),
            r"^partition 2 \(generated partition 2\): inputs hold nan in row 7 \(of 10\); every value must be finite$",
        ),
        (
            lambda parts: parts.__setitem__(1, (np.ones((10, 4)), parts[1][1])),
            r"^partition 1 \(generated partition 1\) has input rows of shape \(4,\) where the others have \(3,\)$",
        ),
        (
            lambda parts: parts.__setitem__(3, (parts[3][0], np.ones(9))),
            r"^partition 3 \(generated partition 3\): 10 input rows but targets of shape \(9,\) \(inputs \(10, 3\)\)$",
        ),
    ],
)
def test_a_bad_partition_stops_the_run_with_one_line_naming_it(client, spoil, message) -> None:
    rng = np.random.default_rng(0)
    parts = [(rng.random((10, 3)), rng.random(10)) for _ in range(4)]
    spoil(parts)
    params = [cr.tensor(m, requires_grad=True) for m in (three_matrix.SEED_A, three_matrix.SEED_B, three_matrix.SEED_C)]
    with pytest.raises(PartitionError, match=message):
        FullBatch(params, three_matrix_sum, Partitions.generate(lambda index: parts[index], 4), client)


def test_data_the_model_cannot_take_is_named_with_its_partition(client) -> None:
    model = nn.Sequential(nn.Linear(4, 3, rng=0))
    partitions = Partitions.generate(lambda index: (np.ones((5, 3)), np.zeros(5, dtype=int)), 2)
    with FullBatch(model, _summed_cross_entropy, partitions, client) as batch:
        with pytest.raises(
            PartitionError, match=r"^partition 0 \(generated partition 0\): loss_fn failed on its data: ShapeError: "
        ):
            batch.backward()


def test_a_missing_shard_is_named(client, tmp_path) -> None:
    np.save(tmp_path / "a.npy", np.ones((3, 3)))
    params = [cr.tensor(m, requires_grad=True) for m in (three_matrix.SEED_A, three_matrix.SEED_B, three_matrix.SEED_C)]
    partitions = Partitions.from_npy([tmp_path / "a.npy", tmp_path / "b.npy"])
    with pytest.raises(
        PartitionError, match=rf"^partition 1 \(shard {tmp_path}/b.npy\) could not be loaded: .*No such file"
    ):
        FullBatch(params, three_matrix_sum, partitions, client)


def test_demo_abc_over_partitions_prints_the_serial_run(in_process_commands, capsys) -> None:
    argv = ["demo", "abc", "--samples", "4000", "--steps", "30"]
    assert main(argv) == 0
    serial = capsys.readouterr().out
    assert main([*argv, "--partitions", "4", "--workers", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "\n".join(lines[:-1]) + "\n" == serial
    assert lines[-1] == (
        "trained in 4 partitions on 2 Dask workers: each generated and kept its own samples "
        "(at most 2000 of the 4000 in one worker), and the driver held none"
    )


# ---- faults ------------------------------------------------------------------------------------------------


def test_a_killed_worker_process_costs_a_retry_not_the_run() -> None:
    _dask_or_skip()
    from chainrule.distributed import connect

    serial_history, serial_params = three_matrix.train(2000, 12, 0.01, seed=0)
    with connect(workers=2) as processes:
        pids = processes.run(os.getpid)
        killed = []

        def kill_one_worker(step, loss):
            if step == 4:  # mid-run: partitions loaded, parameters scattered, several steps done
                victim = sorted(pids)[0]
                os.kill(pids[victim], signal.SIGKILL)
                killed.append(victim)

        history, params = train_three_matrix(
            2000, 12, 0.01, seed=0, partitions=4, client=processes, report=kill_one_worker
        )
        assert pids[killed[0]] not in processes.run(os.getpid).values()  # it is gone (its nanny may start another)
    np.testing.assert_allclose(history, serial_history, rtol=0, atol=1e-10)
    for got, want in zip(params, serial_params):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_the_full_batch_benchmark_checks_that_both_ways_agree(client) -> None:
    from benchmarks import full_batch

    assert full_batch.check_agreement(500, 3, client) <= 1e-10
    step, close = full_batch.distributed_step(500, 3, client)
    serial = full_batch.one_process_step(500)
    for _ in range(3):  # the steps train: the losses fall, in both alike
        (loss, _), (serial_loss, _) = step(), serial()
        assert abs(loss - serial_loss) <= 1e-10
    close()
    assert loss < 20


def test_a_loss_fn_that_averages_is_refused_not_summed_wrongly(client, tmp_path) -> None:
    """cross_entropy's default reduction is a mean: summing partitions' means would be a wrong full-batch loss."""
    model, features, labels = _iris_problem()
    partitions = _iris_sources(tmp_path, features, labels)["generated"]
    with pytest.raises(
        ValueError, match=r"FullBatch: loss_fn must return the summed loss .* not their mean: on partition 0"
    ):
        with FullBatch(model, lambda m, x, t: cr.cross_entropy(m(x), t), partitions, client) as batch:
            batch.backward()
