"""Wheels made on the spot, so tests install packages with no network: ``make_wheel(folder, "pkg", "1.0", code)``.

A wheel is a zip file with the package and three metadata files; pip and uv install it from
``--no-index --find-links FOLDER`` like any wheel from an index. :func:`offline_requirements` gives the
requirement lines that do that.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(folder: Path, name: str, version: str, code: str = "") -> Path:
    """Write ``NAME-VERSION-py3-none-any.whl`` into ``folder``: a package ``name`` whose ``__init__.py`` is
    ``code`` (``VERSION = "..."`` when empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": code or f"VERSION = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: cc-testing\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    path = folder / f"{name}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            data = text.encode()
            wheel.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def offline_requirements(folder: Path, *requirements: str) -> list[str]:
    """Requirement lines that install ``requirements`` from the wheels in ``folder`` only."""
    return ["--no-index", f"--find-links {folder}", *requirements]
