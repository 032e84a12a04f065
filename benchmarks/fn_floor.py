"""The floor of the functions benchmark: what any tool must do for N calls of a trivial function in processes of
their own, 2 at a time: write a payload (cloudpickle), start Python, import cloudpickle, load the payload, call,
write the result, read it back. ``python fn_floor.py N FOLDER``."""

from __future__ import annotations

import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cloudpickle

CHILD = ("import sys, cloudpickle\n"
         "with open(sys.argv[1], 'rb') as f: fn, args = cloudpickle.load(f)\n"
         "with open(sys.argv[2], 'wb') as f: cloudpickle.dump(fn(*args), f)\n")


def increment(x: int) -> int:
    return x + 1


def one(folder: Path, i: int) -> int:
    payload, result = folder / f"{i}.in", folder / f"{i}.out"
    payload.write_bytes(cloudpickle.dumps((increment, (i,))))
    subprocess.run([sys.executable, "-c", CHILD, str(payload), str(result)], check=True)
    with open(result, "rb") as handle:
        return pickle.load(handle)  # type: ignore[no-any-return]


if __name__ == "__main__":
    count, folder = int(sys.argv[1]), Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        values = list(pool.map(lambda i: one(folder, i), range(count)))
    assert values == list(range(1, count + 1))
