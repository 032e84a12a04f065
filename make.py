#!/usr/bin/env python3
"""cc's set-up commands on every system: ``python make.py demo`` and ``python make.py test`` (``make demo`` and
``make test`` call this file where make exists; Windows has no make, macOS's ``python3`` may be too old).

It picks a Python of version 3.10 or newer (this one, or ``python3.13`` ... ``python3.10`` on PATH, or the ``py``
launcher on Windows), makes the project's virtual environment ``.venv`` with it, installs every distribution of the
repository into it (again only when a ``pyproject.toml`` or ``requirements-dev.txt`` changed) and runs the demo, the
tests or the benchmarks there. Nothing but the standard library is used, so any Python 3 can start it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MINIMUM = (3, 10)
NEWEST_MINOR = 14
_VERSION_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


def venv_bin(venv: Path = VENV, platform: str = sys.platform) -> Path:
    """The folder of a virtual environment's programs: ``Scripts`` on Windows, ``bin`` elsewhere."""
    return venv / ("Scripts" if platform == "win32" else "bin")


def venv_program(name: str, venv: Path = VENV, platform: str = sys.platform) -> Path:
    return venv_bin(venv, platform) / (name + (".exe" if platform == "win32" else ""))


def candidates(platform: str = sys.platform) -> List[List[str]]:
    """Commands that may start a Python >= 3.10, newest first."""
    found: List[List[str]] = []
    minors = range(NEWEST_MINOR, MINIMUM[1] - 1, -1)
    if platform == "win32":
        found.extend(["py", f"-3.{minor}"] for minor in minors)
    found.extend([f"python3.{minor}"] for minor in minors)
    found.extend([["python3"], ["python"]])
    return found


def version_of(command: Sequence[str]) -> Optional[tuple]:
    """The (major, minor) version that ``command`` runs, or None when it does not start."""
    program = shutil.which(command[0])
    if program is None:
        return None
    try:
        probe = subprocess.run([program, *command[1:], "-c", _VERSION_PROBE], capture_output=True, text=True,
                               timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        return None
    try:
        major, minor = probe.stdout.strip().split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def find_python(current: tuple = tuple(sys.version_info[:2]), platform: str = sys.platform,
                probe: Callable[[Sequence[str]], Optional[tuple]] = version_of) -> Optional[List[str]]:
    """The command of a Python >= 3.10: this one when it is new enough, else the newest found."""
    if current >= MINIMUM:
        return [sys.executable]
    for command in candidates(platform):
        version = probe(command)
        if version is not None and version >= MINIMUM:
            return list(command)
    return None


def _stale(marker: Path) -> bool:
    if not marker.exists():
        return True
    built = marker.stat().st_mtime
    inputs = [ROOT / "pyproject.toml", ROOT / "requirements-dev.txt", *ROOT.glob("plugins/*/pyproject.toml"),
              *ROOT.glob("cc_plugin_*/pyproject.toml")]
    return any(p.exists() and p.stat().st_mtime > built for p in inputs)


def distributions() -> List[str]:
    """Every distribution of the repository: cc-core, the built-in plugins under plugins/, the plugins at the top."""
    found = ["."]
    found += sorted(str(p.parent.relative_to(ROOT)) for p in ROOT.glob("plugins/*/pyproject.toml"))
    found += sorted(str(p.parent.relative_to(ROOT)) for p in ROOT.glob("cc_plugin_*/pyproject.toml"))
    return found


def run(*command: str, env: Optional[dict] = None) -> None:
    print("+ " + " ".join(command), flush=True)
    result = subprocess.run(list(command), cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def install() -> Path:
    """Make .venv (once) and install every distribution into it (again when their definitions changed)."""
    python = venv_program("python")
    marker = venv_bin() / ".installed"
    if not python.exists():
        run(sys.executable, "-m", "venv", str(VENV))
    if _stale(marker):
        run(str(python), "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(str(python), "-m", "pip", "install", "-q", "-r", "requirements-dev.txt")
        editable: List[str] = []
        for dist in distributions():
            editable += ["-e", dist]
        run(str(python), "-m", "pip", "install", "-q", *editable)
        run(str(python), "-m", "pip", "install", "-q", "-e", "plugins/local[notebook]")
        marker.touch()
    return python


DIGITS = ROOT / "examples" / "digits"
CI_CONSTRAINTS = ROOT / ".ci" / "constraints.txt"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def install_digits() -> Path:
    """The digits example's own requirements (torch, mlxtend, matplotlib), never cc's, into .venv (again when the
    requirements file changed). CI pins the CPU build of torch its machines hold (.ci/constraints.txt); anyone else
    gets what pip chooses for their machine."""
    python = install()
    marker = venv_bin() / ".digits"
    requirements = DIGITS / "requirements.txt"
    if not marker.exists() or requirements.stat().st_mtime > marker.stat().st_mtime:
        pin = ["-c", str(CI_CONSTRAINTS.relative_to(ROOT))] if in_ci() else []
        run(str(python), "-m", "pip", "install", "-q", "-r", str(requirements.relative_to(ROOT)), *pin)
        marker.touch()
    return python


def digits(extra: Sequence[str] = ()) -> None:
    """Run examples/digits on this machine with live progress; copy its report to digits-out/."""
    python = install_digits()
    env = dict(os.environ)
    env.setdefault("CC_HOME", str(ROOT / "digits-out" / "home"))
    ccw = [str(python), "-m", "cc_core"]
    run(*ccw, "run", "examples/digits/workflow.yaml", *extra, env=env)
    status = subprocess.run([*ccw, "status", "digits", "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    import json

    report = Path(json.loads(status.stdout)["run_dir"]) / "compare"
    out = ROOT / "digits-out"
    out.mkdir(exist_ok=True)
    for name in ("report.md", "report.html", "val_accuracy.png"):
        shutil.copy(report / name, out / name)
    print(f"report: digits-out/report.md, digits-out/report.html, digits-out/val_accuracy.png   the run: "
          f"{report.parent}")


def demo() -> None:
    python = install()
    env = dict(os.environ)
    env.setdefault("CC_HOME", str(ROOT / "demo-out" / "home"))
    ccw = [str(python), "-m", "cc_core"]
    run(*ccw, "run", "examples/demo/workflow.yaml", env=env)
    run(*ccw, "export", "demo", "--format", "yaml", "-o", "demo-out/demo.yaml", env=env)
    run(*ccw, "export", "demo", "--format", "svg", "-o", "demo-out/demo.svg", env=env)
    print("state: demo-out/home/cc.db   workflow: demo-out/demo.yaml   graph: demo-out/demo.svg")


def test(extra: Sequence[str] = ()) -> None:
    python = install_digits()   # the digits example's tests train real models
    folders = ["tests", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/tests")),
               *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("cc_plugin_*/tests")),
               *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("examples/*/tests"))]
    run(str(python), "-m", "pytest", "-q", *folders, *extra)


def bench(extra: Sequence[str] = ()) -> None:
    python = install()
    run(str(python), "benchmarks/run.py", *extra)


def clean() -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    shutil.rmtree(ROOT / "demo-out", ignore_errors=True)
    shutil.rmtree(ROOT / "digits-out", ignore_errors=True)


COMMANDS = {"demo": "run examples/demo on this machine",
            "digits": "install examples/digits' requirements and run it on this machine (ARGS: ccw run's, e.g. --set)",
            "test": "run the whole test suite",
            "install": "make .venv and install every distribution", "bench": "run the benchmarks",
            "clean": "remove .venv, demo-out and digits-out"}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: python make.py COMMAND [ARGS]\n\ncommands:")
        for name, what in COMMANDS.items():
            print(f"  {name:8} {what}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    python = find_python()
    if python is None:
        print(f"cc needs Python {MINIMUM[0]}.{MINIMUM[1]} or newer; this is "
              f"{sys.version_info[0]}.{sys.version_info[1]} ({sys.executable}) and no newer one was found on PATH.\n"
              "Install one (python.org; on macOS also 'brew install python@3.12') and run this file with it, "
              "e.g. 'python3.12 make.py demo'.", file=sys.stderr)
        return 2
    if python != [sys.executable]:
        return subprocess.run([*python, str(Path(__file__).resolve()), *argv]).returncode
    command, extra = argv[0], argv[1:]
    if command == "test":
        test(extra)
    elif command == "digits":
        digits(extra)
    elif command == "bench":
        bench(extra)
    else:
        {"demo": demo, "install": install, "clean": clean}[command]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
