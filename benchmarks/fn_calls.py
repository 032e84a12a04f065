"""cc's side of the functions benchmark: ``python fn_calls.py N`` calls a trivial function N times with ``map``
(at most ``functions: max_parallel`` at once, from the settings in CC_HOME) and checks every result."""

from __future__ import annotations

import sys

from cc_core import function


@function
def increment(x: int) -> int:
    return x + 1


if __name__ == "__main__":
    count = int(sys.argv[1])
    values = [f.result() for f in increment.map(range(count))]
    assert values == list(range(1, count + 1)), values
