"""The digits competition as a short Python program: analytics functions instead of a workflow file.

    python examples/digits/compete.py                      # five models, one job each, on this machine
    python examples/digits/compete.py --epochs 1 --subset 600
    python examples/digits/compete.py --kind slurm --host hpc-login

The data is prepared here; each model is trained by a call of ``fit``, which runs as a cc job (its progress per
epoch in ``ccw status``, the GUI and the log); ``best`` waits for all of them and hands back the winner's metrics.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional

import cloudpickle
import numpy as np

from cc_core import best, function

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prepare  # noqa: E402  (the example's own modules)
import train  # noqa: E402

# fit() uses train.py: its code travels with each call, so the machine a call runs on needs no copy of it.
cloudpickle.register_pickle_by_value(train)

MODELS = ["mlp", "cnn", "lstm", "gru", "autoencoder"]


@function(options={"cpus": 1})
def fit(model: str, data: str, epochs: int) -> dict[str, Any]:
    """Train one model; its metrics are the call's value. ``data`` is read in place, or staged (``inputs``)."""
    staged = Path(Path(data).name)
    args = train.parse(["--model", model, "--epochs", str(epochs), "--data", str(staged if staged.is_file() else data)])
    metrics = train.train(args)
    assert metrics is not None
    train.finish(metrics, args)
    return metrics


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--subset", type=int, default=0, help="keep this many images (default: all 5,000)")
    parser.add_argument("--mnist", help="a folder with MNIST's IDX files")
    parser.add_argument("--kind", default="local", help="where the calls run: local, ssh, slurm, ...")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--data", default="digits-data", help="folder for the prepared digits")
    args = parser.parse_args(argv)
    arrays, source = prepare.prepare(Path(args.mnist) if args.mnist else None, args.subset)
    folder = Path(args.data).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "digits.npz"
    np.savez(data, **arrays)
    print(f"prepared {len(arrays['y_train'])} training images from {source}")
    trainer = fit.options(kind=args.kind, host=args.host, inputs=[str(data)])
    calls = trainer.map(MODELS, [str(data)] * len(MODELS), [args.epochs] * len(MODELS))
    winner = best(calls, key=lambda metrics: metrics["test_acc"])
    for call in calls:
        if call.exception() is None:
            metrics = call.result()
            print(f"{metrics['model']:12} test accuracy {100 * metrics['test_acc']:6.2f} %  "
                  f"{metrics['train_time_s']:6.1f} s  {metrics['parameters']:>8,} parameters  (job {call.job})")
        else:
            print(f"{call.job}: {call.exception()}")
    print(f"winner: {winner['model']} with {100 * winner['test_acc']:.2f} % test accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
