"""Writes a text histogram of the cleaned values to histogram.txt in the job's own folder."""
import os
import time
from collections import Counter
from pathlib import Path

values = [int(v) for v in (Path(os.environ["CC_RUN_DIR"]) / "clean.csv").read_text().split()[1:]]
bins = Counter(v // 20 * 20 for v in values)
lines = [f"{low:>3}-{low + 19:<3} {'#' * (count // 20)}" for low, count in sorted(bins.items())]
for step in range(1, 5):
    time.sleep(0.4)
    print(f"# cc status=running progress={step * 25}", flush=True)
Path("histogram.txt").write_text("histogram\n" + "\n".join(lines) + "\n")
print("\n".join(lines))
