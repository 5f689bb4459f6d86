"""chainrule beyond one machine, on Dask: sweeps of independent runs, full-batch gradients over partitions.

Optional: ``pip install ".[distributed]"`` adds Dask's distributed scheduler. Without it this
package still imports, and each function that needs a cluster says how to install it.
Everything runs on an embedded ``LocalCluster`` (one worker per core, started and closed for
the call) unless given a ``client`` (``distributed.Client("tcp://scheduler:8786")`` for a real
cluster, whose workers need chainrule installed).

- ``sweep(train_fn, grid)``: one record per grid point, failures per point.
- ``Partitions`` (generated from a seed, ``.npy`` shards, a dask array's blocks), ``FullBatch``
  (the full-batch gradient summed over partitions kept on the workers) and ``train_full_batch``.
- ``connect(client=None, workers=None, scheduler=None)``: the client those use.
"""

from __future__ import annotations

from .cluster import INSTALL, connect, require_dask
from .examples import three_matrix_sum, train_three_matrix
from .full_batch import FullBatch, train_full_batch, tree_sum
from .partitions import PartitionError, Partitions, three_matrix_partitions, three_matrix_rows
from .sweep import grid_points, sweep

__all__ = [
    "INSTALL",
    "FullBatch",
    "PartitionError",
    "Partitions",
    "connect",
    "grid_points",
    "require_dask",
    "sweep",
    "three_matrix_partitions",
    "three_matrix_rows",
    "three_matrix_sum",
    "train_full_batch",
    "train_three_matrix",
    "tree_sum",
]
