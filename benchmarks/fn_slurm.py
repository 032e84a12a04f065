"""One function call's round trip on a SLURM cluster: ``python fn_slurm.py PARTITION``."""

from __future__ import annotations

import sys

from cc_core import function


def answer() -> int:
    return 42


if __name__ == "__main__":
    call = function(answer, kind="slurm", python=sys.executable, options={"partition": sys.argv[1]})
    assert call() == 42
