"""Drops values outside the plausible range and writes clean.csv next to data.csv."""
import os
import time
from pathlib import Path

run_dir = Path(os.environ["CC_RUN_DIR"])
values = [int(line) for line in (run_dir / "data.csv").read_text().split()[1:]]
kept = [v for v in values if 15 <= v <= 140]
for step in range(1, 5):
    time.sleep(0.3)
    print(f"# cc status=running progress={step * 25}", flush=True)
(run_dir / "clean.csv").write_text("value\n" + "\n".join(map(str, kept)) + "\n")
print(f"kept {len(kept)} of {len(values)} values")
