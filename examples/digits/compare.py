"""Compare the trained models: read every job's metrics.json in the run, write report.md, report.html and
val_accuracy.png (validation accuracy per epoch, one line per model), and name the winner (the best test accuracy;
the smaller model when two are equal)."""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

COLUMNS = ("model", "test accuracy", "test loss", "training time (s)", "parameters", "epochs", "where")


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(run_dir.glob("*/metrics.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            print(f"skipping {path}: {exc}", file=sys.stderr)
            continue
        data["job"] = path.parent.name
        found.append(data)
    return sorted(found, key=lambda m: (-m["test_acc"], m["parameters"]))


def row(m: dict[str, Any]) -> list[str]:
    where = m.get("device", "cpu")
    if m.get("world_size", 1) > 1:
        where += f", {m['world_size']} ranks"
    return [m["model"], f"{100 * m['test_acc']:.2f} %", f"{m['test_loss']:.4f}", f"{m['train_time_s']:.1f}",
            f"{m['parameters']:,}", str(m["epochs"]), where]


def plot(models: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    for m in models:
        epochs = [h["epoch"] for h in m["history"]]
        axes.plot(epochs, [100 * h["val_acc"] for h in m["history"]], marker="o", markersize=3, label=m["model"])
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation accuracy (%)")
    axes.set_title("Handwritten digits: validation accuracy per epoch")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def markdown(models: list[dict[str, Any]], winner: dict[str, Any], png: str) -> str:
    lines = ["# Handwritten digits: the models compared", "",
             f"**Winner: {winner['model']}** with {100 * winner['test_acc']:.2f} % test accuracy.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(m)) + " |" for m in models]
    lines += ["", f"![validation accuracy per epoch]({png})", ""]
    return "\n".join(lines)


def page(models: list[dict[str, Any]], winner: dict[str, Any], png: Path) -> str:
    image = base64.b64encode(png.read_bytes()).decode()
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr" + (' class="winner"' if m is winner else "") + ">"
                   + "".join(f"<td>{html.escape(cell)}</td>" for cell in row(m)) + "</tr>" for m in models)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Handwritten digits: the models compared</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:right}}td:first-child{{text-align:left}}
tr.winner{{background:#ccffcc;font-weight:bold}}</style></head><body>
<h1>Handwritten digits: the models compared</h1>
<p>Winner: <b>{html.escape(winner['model'])}</b> with {100 * winner['test_acc']:.2f} % test accuracy.</p>
<table><tr>{head}</tr>{body}</table>
<p><img alt="validation accuracy per epoch" src="data:image/png;base64,{image}"></p>
</body></html>
"""


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default=os.environ.get("CC_RUN_DIR", "."),
                        help="the folder holding each job's folder (default: $CC_RUN_DIR)")
    args = parser.parse_args(argv)
    models = read_metrics(Path(args.run_dir))
    if not models:
        print(f"compare: no */metrics.json in {args.run_dir}", file=sys.stderr)
        return 1
    print(f"# cc status=running progress=30 msg=\"{len(models)} models\"", flush=True)
    winner = models[0]
    png = Path("val_accuracy.png")
    plot(models, png)
    Path("report.md").write_text(markdown(models, winner, png.name))
    Path("report.html").write_text(page(models, winner, png))
    Path("winner.json").write_text(json.dumps({"model": winner["model"], "job": winner["job"],
                                               "test_acc": winner["test_acc"]}) + "\n")
    print(markdown(models, winner, png.name))
    print(f"# cc status=running progress=100 msg=\"winner: {winner['model']}\"", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
