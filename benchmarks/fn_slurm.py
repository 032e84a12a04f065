"""One function call's round trip on a SLURM cluster: ``python fn_slurm.py PARTITION [TIMES_FILE]``; appends
to TIMES_FILE the seconds from the start of the process to the call's start and from there to its result."""

from __future__ import annotations

import sys
import time

STARTED = time.perf_counter()

from cc_core import function  # noqa: E402


def answer() -> int:
    return 42


if __name__ == "__main__":
    call = function(answer, kind="slurm", python=sys.executable, options={"partition": sys.argv[1]})
    begun = time.perf_counter()
    assert call() == 42
    ended = time.perf_counter()
    if len(sys.argv) > 2:
        with open(sys.argv[2], "a") as handle:
            handle.write(f"{begun - STARTED} {ended - begun}\n")
