"""Dask beside the functions benchmark: ``Client.map`` of a trivial function on a LocalCluster of 2 worker
processes, one thread each (run with the reference environment's Python). ``python fn_dask.py N``."""

from __future__ import annotations

import sys


def increment(x: int) -> int:
    return x + 1


if __name__ == "__main__":
    from dask.distributed import Client, LocalCluster

    count = int(sys.argv[1])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        values = client.gather(client.map(increment, range(count)))
    assert values == list(range(1, count + 1))
