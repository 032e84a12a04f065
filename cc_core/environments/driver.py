"""The program that checks, builds, lists and prunes environments ON THE HOST where jobs run.

cc sends this file's text to the host's ``python3`` in one shell command (``python3 - <<'EOF' ... EOF``) together
with what to do, so a check or a build is one round trip over SSH, to a SLURM login host or into WSL, and the same
code runs on this machine. It therefore uses the standard library only and runs on any Python 3.6 or newer.

The cache on a host is one folder (``~/.cc/envs`` unless configured)::

    <root>/<hash12>-py<X.Y>-<platform>/        one environment (a virtual environment, or a conda prefix)
        cc-env.json                            its record, written last: only a folder with it is ever used
        cc-env.used                            touched at each use (its time is the last use)
        cc-build.log                           the installer's output
    <root>/.locks/<name>.lock                  the build lock (an OS file lock: released when its holder dies)
    <root>/builds.log                          one line per build: when, which, where, how long, how

One build per environment and host, across jobs, runs and processes: a build holds the lock; whoever comes next
waits for it, then finds the record and uses what was built. A build that fails removes its folder, so nothing
half-built is ever reused (a folder left by a builder that died is removed by the next one, under the lock).
The environment is built in place, not in a temporary folder renamed later, because a virtual environment's
scripts name their own folder.

Installers: ``uv`` where the host has it (on PATH or next to this Python), else ``python -m venv`` and pip
(pip's own ``--python`` when the base Python's pip can, else the pip ``venv`` installs); the host's pip settings
(``pip.conf``, ``PIP_*``) are honoured, nothing needs root. ``CC_ENV_INSTALLER=pip`` or ``=uv`` on the host picks
one. ``conda-file`` environments are built with micromamba, mamba or conda, whichever the host has.
"""

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time

RESULT = "CC-ENV-RESULT "
RECORD = "cc-env.json"
USED = "cc-env.used"
BUILD_LOG = "cc-build.log"
BUILDS = "builds.log"
CONDA_ROOTS = ("~/miniforge3", "~/mambaforge", "~/miniconda3", "~/anaconda3", "~/micromamba", "~/.conda",
               "/opt/conda", "/opt/miniforge3", "/opt/miniconda3", "/opt/anaconda3")


class Failed(Exception):
    """The environment cannot be had; the message says why (the installer's output is already printed)."""


def platform_tag():
    return sysconfig.get_platform().replace("_", "-").replace(".", "-")


def env_name(spec_hash, python_tag, platform):
    return "%s-py%s-%s" % (spec_hash[:12], python_tag, platform)


def ready_python(folder):
    """The Python of the environment in ``folder`` when its record says it was built, else ``None``."""
    try:
        with open(os.path.join(folder, RECORD), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    python = record.get("python_path") or os.path.join(folder, "bin", "python")
    return python if os.path.exists(python) else None


def touch_used(folder):
    path = os.path.join(folder, USED)
    try:
        os.utime(path, None)
    except OSError:
        try:
            open(path, "a", encoding="utf-8").close()
        except OSError:
            pass


def _which_near(name):
    found = shutil.which(name)
    if found:
        return found
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.access(here, os.X_OK) else None


def _version_of(python):
    out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if out.returncode != 0:
        raise Failed("the Python %s does not start: %s" % (python, out.stdout.strip()[:300]))
    return out.stdout.strip()


def base_python(request):
    """(interpreter, its X.Y) for ``python:`` — a version ``3.11``, an interpreter path, or nothing (this Python)."""
    if not request:
        return sys.executable, "%d.%d" % sys.version_info[:2]
    if request.replace(".", "").isdigit():
        if "%d.%d" % sys.version_info[:2] == request:
            return sys.executable, request
        found = shutil.which("python" + request)
        uv = _which_near("uv")
        if not found and uv:
            out = subprocess.run([uv, "python", "find", "--no-python-downloads", request], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, universal_newlines=True)
            found = out.stdout.strip() if out.returncode == 0 else None
        if not found:
            raise Failed("there is no Python %s here (looked for python%s on PATH%s)"
                         % (request, request, " and asked uv" if uv else ""))
        return found, request
    python = os.path.expanduser(request)
    if not (os.path.exists(python) or shutil.which(python)):
        raise Failed("the Python %s does not exist here" % request)
    return python, _version_of(python)


def conda_prefix(name, roots):
    """The folder of an existing conda environment: ``name`` is a folder, ``base`` or a name under ``envs/``."""
    if "/" in name or name.startswith("~"):
        prefix = os.path.expanduser(name)
        if os.path.exists(os.path.join(prefix, "bin", "python")):
            return prefix
        raise Failed("the conda environment %s has no bin/python" % prefix)
    candidates = list(roots)
    for variable in ("CONDA_EXE", "MAMBA_EXE"):
        exe = os.environ.get(variable)
        if exe:
            candidates.append(os.path.dirname(os.path.dirname(exe)))
    for variable in ("MAMBA_ROOT_PREFIX", "CONDA_ROOT"):
        if os.environ.get(variable):
            candidates.append(os.environ[variable])
    prefix_now = os.environ.get("CONDA_PREFIX")
    if prefix_now:
        parent = os.path.dirname(prefix_now)
        candidates.append(os.path.dirname(parent) if os.path.basename(parent) == "envs" else prefix_now)
    candidates.extend(CONDA_ROOTS)
    looked = []
    for root in candidates:
        root = os.path.expanduser(root)
        if root in looked:
            continue
        looked.append(root)
        prefix = root if name == "base" else os.path.join(root, "envs", name)
        if os.path.exists(os.path.join(prefix, "bin", "python")):
            return prefix
    raise Failed("there is no conda environment '%s' here (looked in %s)"
                 % (name, ", ".join((r if name == "base" else r + "/envs") for r in looked)))


def _run(argv, log, env=None):
    log.write("$ " + " ".join(argv) + "\n")
    log.flush()
    process = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    return process.returncode == 0


def _pip_can_target(python):
    """Can the base Python's own pip install into another environment (pip >= 22.3: ``--python``)?"""
    out = subprocess.run([python, "-m", "pip", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True)
    if out.returncode != 0:
        return False
    try:
        major, minor = out.stdout.split()[1].split(".")[:2]
        return (int(major), int(minor)) >= (22, 3)
    except (IndexError, ValueError):
        return False


def build_pip(folder, python, requirements_file, log):
    """Build a virtual environment in ``folder``; returns the installer's name."""
    choice = os.environ.get("CC_ENV_INSTALLER", "").strip().lower()
    uv = _which_near("uv") if choice in ("", "uv", "auto") else None
    if choice == "uv" and not uv:
        raise Failed("CC_ENV_INSTALLER=uv, but uv is not installed here")
    target = os.path.join(folder, "bin", "python")
    if uv:
        if not (_run([uv, "venv", "--quiet", "--python", python, folder], log)
                and _run([uv, "pip", "install", "--python", target, "-r", requirements_file], log)):
            raise Failed("uv could not install the requirements")
        return "uv"
    if _pip_can_target(python):
        ok = _run([python, "-m", "venv", "--without-pip", folder], log) and \
            _run([python, "-m", "pip", "--python", target, "install", "--disable-pip-version-check",
                  "--no-input", "-r", requirements_file], log)
    else:
        ok = _run([python, "-m", "venv", folder], log) and \
            _run([target, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r",
                  requirements_file], log)
    if not ok:
        raise Failed("pip could not install the requirements")
    return "pip"


def build_conda(folder, environment_file, log):
    for tool in ("micromamba", "mamba", "conda"):
        exe = shutil.which(tool)
        if exe:
            argv = [exe, "create", "-y", "-p", folder, "-f", environment_file] if tool == "micromamba" else \
                [exe, "env", "create", "-y", "-p", folder, "-f", environment_file]
            if not _run(argv, log):
                raise Failed("%s could not build the environment" % tool)
            return tool
    raise Failed("building an environment.yml needs micromamba, mamba or conda on PATH here; none was found")


def ensure(params):
    """Make sure the environment exists; answer where its Python is and whether this call built it."""
    root = os.path.expanduser(params["root"])
    kind = params["kind"]
    if kind == "conda":
        prefix = conda_prefix(params["conda"], params.get("conda_roots") or [])
        return {"python": os.path.join(prefix, "bin", "python"), "folder": prefix, "name": params["conda"],
                "built": False}
    if kind == "conda-file":
        python_tag = "conda"
    else:
        python, python_tag = base_python(params.get("python"))
    name = env_name(params["hash"], python_tag, platform_tag())
    folder = os.path.join(root, name)
    answer = {"folder": folder, "name": name, "built": False}
    found = ready_python(folder)
    if found:
        touch_used(folder)
        answer["python"] = found
        return answer
    locks = os.path.join(root, ".locks")
    try:
        os.makedirs(locks, exist_ok=True)
    except OSError as exc:
        raise Failed("cannot make the environment folder %s: %s" % (root, exc.strerror))
    with open(os.path.join(locks, name + ".lock"), "a", encoding="utf-8") as lock:
        waited = time.time()
        fcntl.flock(lock, fcntl.LOCK_EX)
        waited = time.time() - waited
        found = ready_python(folder)
        if found:  # another job, run or process built it while this one waited
            touch_used(folder)
            answer.update(python=found, waited=round(waited, 3))
            return answer
        if os.path.lexists(folder):
            shutil.rmtree(folder, ignore_errors=True)   # left by a builder that died: never reused
        started = time.time()
        # The installers want to make the folder themselves: what goes with the build waits beside it.
        staging = os.path.join(root, ".builds")
        os.makedirs(staging, exist_ok=True)
        spec_name = "cc-requirements" + (".yml" if kind == "conda-file" else ".txt")
        spec_file = os.path.join(staging, name + "-" + spec_name)
        with open(spec_file, "w", encoding="utf-8") as handle:
            handle.write(params["requirements"])
        log_path = os.path.join(staging, name + "-" + BUILD_LOG)
        try:
            with open(log_path, "w", encoding="utf-8") as log:
                if kind == "conda-file":
                    installer = build_conda(folder, spec_file, log)
                else:
                    installer = build_pip(folder, python, spec_file, log)
            target = os.path.join(folder, "bin", "python")
            if not os.path.exists(target):
                raise Failed("the build left no bin/python")
        except Failed:
            _print_file(log_path)
            shutil.rmtree(folder, ignore_errors=True)
            for leftover in (log_path, spec_file):
                os.remove(leftover)
            raise
        _print_file(log_path)
        os.replace(log_path, os.path.join(folder, BUILD_LOG))
        os.replace(spec_file, os.path.join(folder, spec_name))
        record = {"name": name, "hash": params["hash"], "kind": kind, "python": python_tag,
                  "platform": platform_tag(), "python_path": target, "installer": installer,
                  "requirements": params["requirements"], "built": started,
                  "seconds": round(time.time() - started, 3), "host": socket.gethostname()}
        partial = os.path.join(folder, RECORD + ".part")
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1)
        os.replace(partial, os.path.join(folder, RECORD))   # the record appears whole, last
        touch_used(folder)
        with open(os.path.join(root, BUILDS), "a", encoding="utf-8") as builds:
            builds.write("%s %s %s pid=%d %.1fs %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), name,
                                                        socket.gethostname(), os.getpid(), record["seconds"],
                                                        installer))
        answer.update(python=target, built=True, installer=installer, seconds=record["seconds"])
        return answer


def _print_file(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            sys.stdout.write(handle.read())
    except OSError:
        pass
    sys.stdout.flush()


def _size(folder):
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def listing(params):
    """Every environment in the cache: name, size, last use, what it holds; half-built folders too."""
    root = os.path.expanduser(params["root"])
    found = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        names = []
    for name in names:
        folder = os.path.join(root, name)
        if name.startswith(".") or not os.path.isdir(folder):
            continue
        try:
            with open(os.path.join(folder, RECORD), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            record = None
        try:
            used = os.stat(os.path.join(folder, USED)).st_mtime
        except OSError:
            used = None
        found.append({"name": name, "folder": folder, "size": _size(folder) if params.get("sizes", True) else None,
                      "last_used": used, "complete": record is not None,
                      "built": (record or {}).get("built"), "installer": (record or {}).get("installer"),
                      "python": (record or {}).get("python"),
                      "requirements": (record or {}).get("requirements", "")})
    return {"root": root, "environments": found}


def prune(params):
    """Remove the environments not used for ``days`` days (and half-built ones nobody is building)."""
    root = os.path.expanduser(params["root"])
    limit = time.time() - float(params["days"]) * 86400
    removed = []
    for entry in listing({"root": root, "sizes": False})["environments"]:
        if entry["complete"] and (entry["last_used"] or 0) >= limit:
            continue
        lock_path = os.path.join(root, ".locks", entry["name"] + ".lock")
        try:
            lock = open(lock_path, "a", encoding="utf-8")
        except OSError:
            continue
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue   # being built or waited for right now
            shutil.rmtree(entry["folder"], ignore_errors=True)
            removed.append(entry["name"])
    return {"root": root, "removed": removed}


ACTIONS = {"ensure": ensure, "list": listing, "prune": prune}


def main(params):
    try:
        answer = ACTIONS[params["action"]](params)
    except Failed as exc:
        answer = {"error": str(exc)}
    except OSError as exc:
        answer = {"error": "%s: %s" % (getattr(exc, "filename", "") or "", exc.strerror or exc)}
    sys.stdout.flush()
    sys.stdout.write("\n" + RESULT + json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(json.loads(sys.stdin.readline() if len(sys.argv) < 2 else sys.argv[1]))
