"""Progress from inside a call (or any Python job): ``report_progress(40, "epoch 2/5")`` prints the line cc reads
from the job's log. The far-side runner offers the same function where cc is not installed."""

from __future__ import annotations


def report_progress(percent: float, message: str = "") -> None:
    """Print ``# cc status=running progress=PERCENT msg="MESSAGE"`` (flushed), which sets the job's progress."""
    text = f"# cc status=running progress={float(percent):g}"
    if message:
        text += ' msg="' + str(message).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    print(text, flush=True)
