"""The SLURM floor: ``sbatch`` each of N trivial jobs, then one ``squeue`` for all of them every POLL seconds
until none is left. ``python slurm_floor.py N POLL`` (SLURM_CONF and PATH from the environment)."""

from __future__ import annotations

import subprocess
import sys
import time


def main(count: int, poll: float) -> None:
    ids = [subprocess.run(["sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true"], check=True,
                          capture_output=True, text=True).stdout.strip().split(";")[0] for _ in range(count)]
    while True:
        listed = subprocess.run(["squeue", "-h", "-j", ",".join(ids), "-o", "%i"], capture_output=True, text=True)
        if listed.returncode == 0 and not listed.stdout.strip():
            return
        time.sleep(poll)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
