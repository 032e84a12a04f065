"""prepare.py: MNIST's IDX files (plain and gzip), written here in small; the split, the normalisation, the errors."""

from __future__ import annotations

import gzip
import importlib.util
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prepare(requirements: None) -> ModuleType:
    spec = importlib.util.spec_from_file_location("digits_prepare", EXAMPLE / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def idx_bytes(kind: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, kind, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def write_mnist(folder: Path, train: int, test: int, gz: bool) -> None:
    """A tiny MNIST in IDX files: image i has every pixel equal to i % 256, label i % 10."""
    def images(count: int) -> bytes:
        return idx_bytes(0x08, (count, 28, 28), b"".join(bytes([i % 256]) * 784 for i in range(count)))

    def labels(count: int) -> bytes:
        return idx_bytes(0x08, (count,), bytes(i % 10 for i in range(count)))

    folder.mkdir(parents=True, exist_ok=True)
    files = {"train-images-idx3-ubyte": images(train), "train-labels-idx1-ubyte": labels(train),
             "t10k-images-idx3-ubyte": images(test), "t10k-labels-idx1-ubyte": labels(test)}
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx(prepare: ModuleType, tmp_path: Path, gz: bool) -> None:
    write_mnist(tmp_path, train=30, test=12, gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    images = prepare.read_idx(tmp_path / name)
    assert images.shape == (30, 28, 28) and images.dtype.name == "uint8"
    assert int(images[7, 3, 5]) == 7
    labels = prepare.read_idx(prepare.find_idx(tmp_path, "t10k-labels"))
    assert labels.tolist() == [i % 10 for i in range(12)]


def test_prepare_from_idx_folder(prepare: ModuleType, tmp_path: Path) -> None:
    import numpy as np

    write_mnist(tmp_path / "mnist", train=5100, test=40, gz=True)
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, str(EXAMPLE / "prepare.py"), "--mnist", str(tmp_path / "mnist")],
                            cwd=out, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "prepared 100 training, 5000 validation and 40 test images" in result.stdout
    with np.load(out / "digits.npz") as data:
        assert data["x_train"].shape == (100, 28, 28) and data["x_train"].dtype == np.float32
        assert data["x_test"].shape == (40, 28, 28) and data["y_test"].tolist() == [i % 10 for i in range(40)]
        # Normalised by the training set: its pixels have mean 0 and spread 1.
        assert abs(float(data["x_train"].mean())) < 1e-4 and abs(float(data["x_train"].std()) - 1) < 1e-3
        # The same seed gives the same split.
        again, _ = prepare.prepare(tmp_path / "mnist", None)
        assert np.array_equal(again["y_train"], data["y_train"])


def test_bad_idx_files_are_named(prepare: ModuleType, tmp_path: Path) -> None:
    write_mnist(tmp_path, train=10, test=10, gz=False)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 10, 28, 28) + b"x")
    with pytest.raises(prepare.DataError, match="t10k-images-idx3-ubyte: holds 1 bytes of data, its header says 7840"):
        prepare.load_idx_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"PK\x03\x04")
    with pytest.raises(prepare.DataError, match="not an IDX file"):
        prepare.read_idx(tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(prepare.DataError, match="no t10k-labels-idx1-ubyte"):
        prepare.find_idx(tmp_path / "nowhere", "t10k-labels")
    result = subprocess.run([sys.executable, str(EXAMPLE / "prepare.py"), "--mnist", str(tmp_path / "nowhere")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no train-images-idx3-ubyte[.gz] file" in result.stderr
    assert "Traceback" not in result.stderr
