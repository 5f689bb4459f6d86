"""Where the work runs: an embedded Dask cluster started for the run, or an existing one.

Dask is an optional dependency (``pip install ".[distributed]"``); nothing here imports it
until a cluster is asked for, so ``import chainrule`` and ``import chainrule.distributed``
work without it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import check_integer

INSTALL = 'pip install ".[distributed]" in the chainrule folder'
CONNECT_TIMEOUT = 10  # seconds to reach a scheduler given by address
WAIT_FOR_WORKERS = 60  # seconds to wait for the workers asked for on a running cluster


def require_dask(what: str = "chainrule.distributed") -> None:
    """Raise a one-line ImportError saying how to install the extra when Dask's distributed scheduler is missing."""
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} needs Dask's distributed scheduler: {INSTALL}") from None


@contextmanager
def connect(
    client: Any = None, workers: int | None = None, scheduler: str | None = None, processes: bool = True
) -> Iterator[Any]:
    """A ``distributed.Client`` to run on, closed on exit if it was made here.

    ``client`` is used as it is. Otherwise ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``) connects to a running cluster, waiting for ``workers`` of its
    workers if given; without it an embedded ``LocalCluster`` of ``workers`` single-threaded
    workers (default: one per core) listening on 127.0.0.1 is started, and closed on exit.
    ``processes=False`` runs the embedded workers as threads of this process (for tests).
    """
    if client is not None:
        yield client
        return
    require_dask()
    from distributed import Client, LocalCluster

    if workers is not None:
        workers = check_integer("connect", "workers", workers)
    if scheduler is not None:
        remote = _client_of(Client, scheduler)
        try:
            try:  # at least one worker, or the number asked for: never a silent wait on an empty cluster
                remote.wait_for_workers(workers or 1, timeout=WAIT_FOR_WORKERS)
            except TimeoutError:
                have = len(worker_addresses(remote))
                raise OSError(
                    f"the Dask cluster at {scheduler} has {have} worker{'s' if have != 1 else ''}; waited "
                    f"{WAIT_FOR_WORKERS} s for {workers or 1}"
                ) from None
            yield remote
        finally:
            remote.close()
        return
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=processes,
        **({"host": "127.0.0.1"} if processes else {}),  # threads talk in-process, without an address
        dashboard_address="127.0.0.1:0",  # a free port: never the warning that 8787 is taken
        silence_logs=logging.CRITICAL,  # failures are reported by the caller, per run or partition
    )
    try:
        with Client(cluster) as embedded:
            yield embedded
    finally:
        cluster.close()


def worker_addresses(client: Any) -> list[str]:
    """The addresses of the workers of ``client``'s cluster, sorted, as its scheduler knows them now.

    Asked of the scheduler at each call (``client.nthreads()``), never read from
    ``client.scheduler_info()``: that returns a copy which the client refreshes in the background
    without the workers, so a refresh finishing just after the call's own leaves it with none (seen
    on a loaded machine, Dask 2026.8), and older Dask releases cut its list to five workers.
    """
    return sorted(client.nthreads())


def _client_of(client_class: Any, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``, or a one-line OSError within CONNECT_TIMEOUT (+5 s).

    Dask's own timeout does not cover a server that accepts the connection and never answers as
    a scheduler (an HTTP server, such as the dashboard's port 8787), nor one that answers in
    another protocol (which Dask reads as a message of exabytes): the attempt runs in a thread
    with a deadline, and any failure becomes one line.
    """
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            outcome["client"] = client_class(scheduler, timeout=CONNECT_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - every failure to connect is reported in one line below
            outcome["error"] = error

    thread = threading.Thread(target=attempt, daemon=True, name="chainrule-connect")
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5)
    if thread.is_alive():
        raise OSError(
            f"cannot reach the Dask scheduler at {scheduler}: nothing answered as a scheduler within "
            f"{CONNECT_TIMEOUT + 5} s (is it another server, such as the dashboard's port 8787 instead of 8786?)"
        )
    if "error" in outcome:
        error = outcome["error"]
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
    return outcome["client"]
