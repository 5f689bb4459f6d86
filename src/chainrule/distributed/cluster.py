"""Where the work runs: an embedded Dask cluster started for the run, or an existing one.

Dask is an optional dependency (``pip install ".[distributed]"``); nothing here imports it
until a cluster is asked for, so ``import chainrule`` and ``import chainrule.distributed``
work without it.
"""

from __future__ import annotations

import logging
import os
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
        try:
            remote = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
        try:
            if workers is not None:
                try:
                    remote.wait_for_workers(workers, timeout=WAIT_FOR_WORKERS)
                except TimeoutError:
                    have = len(remote.scheduler_info()["workers"])
                    raise OSError(
                        f"the Dask cluster at {scheduler} has {have} worker{'s' if have != 1 else ''}; waited {WAIT_FOR_WORKERS} s for {workers}"
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
