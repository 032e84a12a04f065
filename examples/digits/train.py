"""Train one model on the prepared digits and write metrics.json and model.pt into the working folder.

    python train.py --model mlp|cnn|lstm|gru|autoencoder [--epochs N] [--data digits.npz]
    python train.py --model cnn --distributed          # torch.distributed (gloo), one process per task

Each epoch prints ``# cc status=running progress=NN msg="epoch e/E loss=... val_acc=..."``, which cc shows as the
job's progress. The GPU is used when there is one. The number of threads is what the job was given (``cpus:``,
which cc passes as ``OMP_NUM_THREADS`` and ``CC_CPUS``).

Distributed: under SLURM with more than one task (``tasks: 2``) the batch step starts the ranks with ``srun``;
elsewhere it starts ``CC_TASKS`` (default 2) local processes. Every rank prints its own progress to the log as
``[rank R] epoch ...``; rank 0's is also the job's progress.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

MODELS = ("mlp", "cnn", "lstm", "gru", "autoencoder")
WORKER = "DIGITS_RANK_WORKER"   # set for the processes a distributed launcher starts


# ------------------------------------------------------------------------------------------------------ models
class MLP(nn.Module):
    """A multilayer perceptron on the 784 pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                                    nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class CNN(nn.Module):
    """Two convolution and pooling stages, then a small dense head."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
                                  nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.unsqueeze(1)))


class RowReader(nn.Module):
    """An LSTM or GRU that reads the image row by row (28 steps of 28 pixels) and classifies its last state."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        recurrent = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = recurrent(input_size=28, hidden_size=96, batch_first=True)
        self.head = nn.Linear(96, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class AutoencoderClassifier(nn.Module):
    """An autoencoder (784 -> 32 -> 784) whose encoder also feeds a small classifier; both are trained together:
    the loss is the classification loss plus the reconstruction error."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 32), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 784))
        self.classifier = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
        self.reconstruction: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code = self.encoder(x)
        self.reconstruction = self.decoder(code)
        return self.classifier(code)

    def extra_loss(self, x: torch.Tensor) -> torch.Tensor:
        assert self.reconstruction is not None
        return F.mse_loss(self.reconstruction, x.flatten(1))


def say(line: str) -> None:
    """One line of output in one write: the ranks share the job's log, and a line written in two parts (text, then
    its newline, as print does when output is unbuffered) could be cut by another rank's line."""
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def build(name: str) -> nn.Module:
    if name == "mlp":
        return MLP()
    if name == "cnn":
        return CNN()
    if name in ("lstm", "gru"):
        return RowReader(name)
    if name == "autoencoder":
        return AutoencoderClassifier()
    raise SystemExit(f"unknown model '{name}' (known: {', '.join(MODELS)})")


# ------------------------------------------------------------------------------------------------------ data
def find_data(given: Optional[str]) -> Path:
    """``--data``; else digits.npz staged into the working folder (a remote host); else the prepare job's file."""
    if given:
        return Path(given)
    here = Path("digits.npz")
    if here.is_file():
        return here
    return Path(os.environ.get("CC_RUN_DIR", ".")) / "prepare" / "digits.npz"


def load(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise SystemExit(f"no prepared digits at {path}: run prepare.py first")
    with np.load(path) as data:
        return {key: torch.from_numpy(data[key]) for key in ("x_train", "y_train", "x_val", "y_val",
                                                              "x_test", "y_test")}


# ------------------------------------------------------------------------------------------------------ training
def use_threads() -> int:
    """As many threads as the job was given CPUs (cc sets CC_CPUS and OMP_NUM_THREADS from ``cpus:``)."""
    given = os.environ.get("CC_CPUS") or os.environ.get("OMP_NUM_THREADS")
    if given and given.isdigit() and int(given) > 0:
        torch.set_num_threads(int(given))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    return torch.get_num_threads()


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> tuple[float, float]:
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), 500):
            xb, yb = x[start:start + 500].to(device), y[start:start + 500].to(device)
            out = model(xb)
            loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += int((out.argmax(1) == yb).sum())
    model.train()
    return loss / max(1, len(x)), correct / max(1, len(x))


def train(args: argparse.Namespace, rank: int = 0, world: int = 1) -> Optional[dict[str, Any]]:
    torch.manual_seed(args.seed)
    threads = use_threads()
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu")
    data_path = find_data(args.data)
    data = load(data_path)
    model = build(args.model).to(device)
    core = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    x_train, y_train = data["x_train"], data["y_train"]
    generator = torch.Generator().manual_seed(args.seed)
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    label = f"[rank {rank}] " if world > 1 else ""
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_train), generator=generator)[rank::world]   # each rank its own share
        # Every rank takes the same number of steps, or the gradient exchange would wait forever.
        steps = len(x_train) // world // args.batch_size or 1
        total = 0.0
        for step in range(steps):
            index = order[step * args.batch_size:(step + 1) * args.batch_size]
            xb, yb = x_train[index].to(device), y_train[index].to(device)
            optimiser.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            if isinstance(core, AutoencoderClassifier):
                loss = loss + core.extra_loss(xb)
            loss.backward()
            optimiser.step()
            total += loss.item()
        val_loss, val_acc = evaluate(core, data["x_val"], data["y_val"], device)
        seconds = time.perf_counter() - started
        history.append({"epoch": epoch, "loss": total / steps, "val_loss": val_loss, "val_acc": val_acc,
                        "seconds": round(seconds, 3)})
        said = f"epoch {epoch}/{args.epochs} loss={total / steps:.4f} val_acc={val_acc:.4f}"
        if rank == 0:
            say(f"# cc status=running progress={95 * epoch // args.epochs} msg=\"{said}\"")
        if label:
            say(f"{label}{said}")
    train_time = time.perf_counter() - started
    if rank != 0:
        return None
    test_loss, test_acc = evaluate(core, data["x_test"], data["y_test"], device)
    torch.save(core.state_dict(), args.model_file)
    metrics = {
        "model": args.name or (f"{args.model}-distributed" if world > 1 else args.model),
        "architecture": args.model, "test_acc": test_acc, "test_loss": test_loss,
        "train_time_s": round(train_time, 3), "parameters": sum(p.numel() for p in core.parameters()),
        "epochs": args.epochs, "batch_size": args.batch_size, "train_images": len(x_train),
        "device": str(device), "threads": threads, "world_size": world, "data": str(data_path),
        "history": history,
    }
    return metrics


def finish(metrics: dict[str, Any], args: argparse.Namespace) -> None:
    Path(args.metrics).write_text(json.dumps(metrics, indent=2) + "\n")
    say(f"# cc status=running progress=100 msg=\"test_acc={metrics['test_acc']:.4f}\"")
    say(f"{metrics['model']}: test accuracy {metrics['test_acc']:.4f}, {metrics['parameters']} parameters, "
        f"trained in {metrics['train_time_s']:.1f} s on {metrics['device']} with {metrics['threads']} thread(s)")


# ------------------------------------------------------------------------------------------------------ distributed
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_ranks(argv: list[str]) -> int:
    """Start the ranks: with ``srun`` inside a SLURM job of several tasks, else as local processes."""
    env = dict(os.environ, **{WORKER: "1", "MASTER_PORT": str(free_port())})
    command = [sys.executable, os.path.abspath(__file__), *argv]
    tasks = int(os.environ.get("SLURM_NTASKS") or 0)
    if os.environ.get("SLURM_JOB_ID") and tasks > 1 and shutil.which("srun"):
        single_node = os.environ.get("SLURM_JOB_NUM_NODES", "1") == "1"
        env["MASTER_ADDR"] = "127.0.0.1" if single_node else socket.gethostname()
        say(f"starting {tasks} ranks with srun")
        return subprocess.call(["srun", f"--ntasks={tasks}", "--kill-on-bad-exit=1", *command], env=env)
    world = int(os.environ.get("CC_TASKS") or 2)
    env.update(MASTER_ADDR="127.0.0.1", WORLD_SIZE=str(world))
    say(f"starting {world} ranks as local processes")
    ranks = [subprocess.Popen(command, env=dict(env, RANK=str(rank))) for rank in range(world)]
    codes = []
    for process in ranks:
        code = process.wait()
        codes.append(code)
        if code != 0:   # one rank failed: the others would wait for it forever
            for other in ranks:
                if other.poll() is None:
                    other.terminate()
    return next((c for c in codes if c != 0), 0)


def run_rank(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    rank = int(os.environ.get("SLURM_PROCID") or os.environ.get("RANK") or 0)
    world = int(os.environ.get("SLURM_NTASKS") or os.environ.get("WORLD_SIZE") or 1)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        say(f"[rank {rank}] of {world} on {socket.gethostname()}, pid {os.getpid()}"
            + (f", SLURM task {os.environ['SLURM_PROCID']}" if "SLURM_PROCID" in os.environ else ""))
        metrics = train(args, rank, world)
        where = {"rank": rank, "host": socket.gethostname(), "pid": os.getpid(),
                 "slurm_task": os.environ.get("SLURM_PROCID"), "slurm_step": os.environ.get("SLURM_STEP_ID")}
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, where)
        if metrics is not None:
            metrics["ranks"] = gathered
            finish(metrics, args)
        dist.barrier()   # no rank leaves (rank 0 holds the group's store) while another still uses the group
    finally:
        dist.destroy_process_group()
    return 0


# ------------------------------------------------------------------------------------------------------ main
def parse(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--name", help="the name in metrics.json (default: the model's)")
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("DIGITS_EPOCHS") or 10))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", help="the prepared digits.npz (default: found as described in the docs)")
    parser.add_argument("--distributed", action="store_true", help="train with torch.distributed (gloo)")
    parser.add_argument("--metrics", default="metrics.json")
    parser.add_argument("--model-file", default="model.pt")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse(raw)
    if args.distributed and os.environ.get(WORKER):
        code = run_rank(args)
        # A rank leaves at once, without the interpreter's teardown: gloo's threads, torn down there while another
        # rank's process ends, could abort it ("terminate called without an active exception") after its work was
        # done, and srun then ends the job's other ranks.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if args.distributed:
        return launch_ranks(raw)
    metrics = train(args)
    assert metrics is not None
    finish(metrics, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
