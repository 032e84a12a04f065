"""Checks every job type is held to for analytics functions: calls of a function from an importable module and
from a script's ``__main__``, return values, remote exceptions with their traceback, retry, ``map`` of 20,
``race`` and ``best``, kill, timeout, and a call collected after its caller was SIGKILLed and the run resumed.

A job type's tests call these with the job fields that put a call on it (``kind``, ``host``, ``python``, ...)::

    def test_calls(sshd):
        check_calls(kind="ssh", host=sshd.alias, python=sys.executable)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from cc_core.testing.polling import ccw_command, wait_for


def calls_home(home: Path) -> Path:
    """A CC_HOME whose settings let 8 calls run at once (the checks' calls wait mostly on the job type)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text("functions: {max_parallel: 8}\n", encoding="utf-8")
    return home


def _square(x: int) -> int:
    print(f"squaring {x}", flush=True)
    return x * x


def _fails(message: str) -> None:
    raise ValueError(message)


def _flaky() -> int:
    import os as _os

    if _os.environ.get("CC_ATTEMPT") == "1":
        raise RuntimeError("the first attempt fails")
    return 7


def _sleeper(seconds: float, value: str) -> str:
    import time as _time

    _time.sleep(seconds)
    return value


def _states(run: int) -> dict[str, Any]:
    from cc_core.home import open_store

    return {j.name: j for j in open_store().get_jobs(run)}


def check_calls(**fields: Any) -> None:
    """Values, errors, retry, map of 20, race and best, all in one run of calls on the job type ``fields`` say."""
    import pytest

    from cc_core import RemoteError, as_completed, best, function, race
    from cc_core.states import JobState

    square = function(_square, **fields)
    mapped = square.map(range(20))
    failing = function(_fails, **fields).submit("bad input")
    flaky = function(_flaky, retries=1, **fields).submit()
    sleeper = function(_sleeper, **fields)
    racers = [sleeper.submit(60, "slow"), sleeper.submit(0, "fast")]
    contenders = square.map([3, -4, 2])
    assert sorted(f.result() for f in as_completed(mapped, timeout=120)) == [x * x for x in range(20)]
    with pytest.raises(ValueError) as caught:
        failing.result(timeout=60)
    assert isinstance(caught.value, RemoteError) and "in _fails" in caught.value.remote_traceback
    assert caught.value.remote_message == "bad input"
    assert flaky.result(timeout=60) == 7
    assert race(racers, timeout=60) == "fast"
    assert best(contenders, key=lambda v: v, timeout=60) == 16
    jobs = _states(failing.run)
    assert jobs[failing.job].state is JobState.FAILED and jobs[failing.job].reason == "raised ValueError: bad input"
    assert jobs[flaky.job].attempt == 2 and jobs[flaky.job].state is JobState.DONE
    wait_for(lambda: _states(failing.run)[racers[0].job].state is JobState.KILLED, timeout=30,
             what="the race's loser to be killed")
    assert b"squaring 5" in Path(jobs[mapped[5].job].log_path or "").read_bytes()


def check_kill_and_timeout(**fields: Any) -> None:
    import pytest

    from cc_core import CallTimeoutError, function
    from cc_core.states import JobState

    sleeper = function(_sleeper, **fields)
    killed = sleeper.submit(60, "never")
    timed = sleeper.options(timeout=2).submit(60, "never")
    wait_for(lambda: killed.state is JobState.RUNNING, timeout=60, what="the call to run")
    assert killed.cancel()
    with pytest.raises(CancelledError):
        killed.result(timeout=1)
    with pytest.raises(CallTimeoutError):
        timed.result(timeout=60)
    wait_for(lambda: _states(killed.run)[killed.job].state is JobState.KILLED, timeout=30, what="the job killed")
    assert _states(timed.run)[timed.job].reason == "timeout after 2 s"


MAIN = """
import sys, json, time
from cc_core import function

@function(**json.loads(sys.argv[1]))
def shout(word, delay=float(sys.argv[3])):   # sys.argv is read here: on the far side it is the runner's
    time.sleep(delay)
    return word.upper() + "!"

fut = shout.submit(sys.argv[2])
print(fut.run, fut.job, flush=True)
if sys.argv[4] == "die":
    time.sleep(120)          # SIGKILLed here, before it collects the result
print(fut.result())
"""


def check_main_and_resume(folder: Path, **fields: Any) -> None:
    """A function from a script's ``__main__`` returns its value; a caller SIGKILLed while its call runs leaves
    the call to ``ccw run --resume``, and a new process loads the result."""
    from cc_core import result

    script = folder / "shouting.py"
    script.write_text(MAIN, encoding="utf-8")
    options = json.dumps(fields)
    done = subprocess.run([sys.executable, str(script), options, "hello", "0", "wait"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split()[2] == "HELLO!"
    caller = subprocess.Popen([sys.executable, str(script), options, "late", "2", "die"], stdout=subprocess.PIPE,
                              text=True)
    assert caller.stdout is not None
    run, job = caller.stdout.readline().split()
    wait_for(lambda: _states(int(run))[job].state.value == "running", timeout=60, what="the call to run")
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait(timeout=10)
    resumed = subprocess.run(ccw_command("run", "--resume", run), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert result(int(run), job) == "LATE!"
