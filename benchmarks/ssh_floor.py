"""The SSH floor: one multiplexed OpenSSH connection (ControlMaster), then N ``ssh HOST true`` over it, 2 at a
time, then the connection closed. ``python ssh_floor.py SSH_CONFIG HOST N CONTROL_PATH``"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def main(config: str, host: str, count: int, control: str) -> None:
    base = ["ssh", "-F", config, "-o", f"ControlPath={control}"]
    subprocess.run([*base, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-N", "-f", host], check=True)
    try:
        def one(_: int) -> int:
            return subprocess.run([*base, "-o", "ControlMaster=no", host, "true"], check=True).returncode

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(one, range(count)))
    finally:
        subprocess.run([*base, "-O", "exit", host], capture_output=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
