"""Analytics functions on this machine: calls as jobs of the process's run, results, remote errors, kill,
timeout, retry, race/best, map, workflow function jobs (Python and YAML), resume after the caller died, a 100 MB
result, version mismatches found before the call runs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Iterator

import pytest

from cc_core import (CallTimeoutError, RemoteError, VersionMismatchError, Workflow, as_completed, best, function,
                     race, report_progress, result)
from cc_core.errors import CCError
from cc_core.functions.process_run import forget_process_run
from cc_core.home import open_store
from cc_core.states import JobState
from cc_core.workflow.model import JobSpec
from cc_core.testing.polling import ccw_command, wait_for


@pytest.fixture(scope="module", autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One CC_HOME, and so one run of calls, for the whole module (the calls share it, as a user's would)."""
    home = tmp_path_factory.mktemp("functions") / "cc-home"
    old = os.environ.get("CC_HOME")
    os.environ["CC_HOME"] = str(home)
    forget_process_run()
    yield home
    forget_process_run()
    if old is None:
        os.environ.pop("CC_HOME", None)
    else:
        os.environ["CC_HOME"] = old


def job_record(run: int, job: str):  # type: ignore[no-untyped-def]
    return {j.name: j for j in open_store().get_jobs(run)}[job]


@function
def square(x: int) -> int:
    report_progress(50, "half way")
    return x * x


@function
def fails(message: str) -> None:
    print("about to fail", flush=True)
    raise KeyError(message)


@function
def sleeper(seconds: float, value: str = "slept") -> str:
    import time as _time

    _time.sleep(seconds)
    return value


@function(retries=1)
def flaky() -> int:
    import os as _os

    if _os.environ["CC_ATTEMPT"] == "1":
        raise RuntimeError("first attempt fails")
    return int(_os.environ["CC_ATTEMPT"])


def test_submit_returns_a_future_of_a_job_and_its_value() -> None:
    fut = square.submit(7)
    assert fut.run and fut.job == f"square-{fut.job.split('-')[1]}"
    assert fut.result(timeout=30) == 49
    assert fut.state is JobState.DONE and fut.message == "half way" and fut.attempt == 1
    record = job_record(fut.run, fut.job)
    assert record.state is JobState.DONE and record.message == "half way"   # from report_progress(50, ...)
    assert square(3) == 9                       # a plain call runs as a job too, in the same run
    runs = open_store().list_runs()
    assert {r.id for r in runs if r.workflow == runs[0].workflow} == {fut.run}
    assert result(fut.run, fut.job) == 49       # loaded again from the job's folder


def test_a_remote_exception_keeps_its_type_traceback_and_log() -> None:
    fut = fails.submit("no such key")
    with pytest.raises(KeyError) as caught:
        fut.result(timeout=30)
    error = caught.value
    assert isinstance(error, RemoteError) and isinstance(error, CCError)
    assert error.remote_type == "KeyError" and "no such key" in error.remote_message
    assert "in fails" in error.remote_traceback and "KeyError: 'no such key'" in error.remote_traceback
    assert "about to fail" in error.log_tail
    record = job_record(fut.run, fut.job)
    assert record.state is JobState.FAILED and record.reason == "raised KeyError: 'no such key'"
    with pytest.raises(KeyError):
        result(fut.run, fut.job)


def test_cancel_kills_the_job() -> None:
    fut = sleeper.submit(60)
    wait_for(lambda: fut.state is JobState.RUNNING, what="the call to run")
    assert fut.cancel()
    with pytest.raises(CancelledError):
        fut.result(timeout=1)
    wait_for(lambda: job_record(fut.run, fut.job).state is JobState.KILLED, what="the job to be killed")


def test_timeout_and_retry() -> None:
    slow = sleeper.options(timeout=0.5).submit(60)
    again = flaky.submit()
    with pytest.raises(CallTimeoutError, match="timed out"):
        slow.result(timeout=30)
    assert job_record(slow.run, slow.job).reason == "timeout after 0.5 s"
    assert again.result(timeout=30) == 2
    assert job_record(again.run, again.job).attempt == 2


def test_race_takes_the_first_success_and_kills_the_rest() -> None:
    calls = [sleeper.submit(60, "slow"), fails.submit("x"), sleeper.submit(0, "fast")]
    assert race(calls) == "fast"
    wait_for(lambda: job_record(calls[0].run, calls[0].job).state is JobState.KILLED, what="the loser killed")
    assert job_record(calls[1].run, calls[1].job).state is JobState.FAILED      # every attempt stays visible


def test_best_map_and_as_completed() -> None:
    futures = square.map(range(20))
    assert len({f.job for f in futures}) == 20
    assert sorted(f.result() for f in as_completed(futures, timeout=60)) == [x * x for x in range(20)]
    assert best(square.map([3, -5, 4]), key=lambda v: -v) == 9
    assert best([fails.submit("a"), square.submit(2)]) == 4


def test_an_awaitable_future() -> None:
    async def main() -> int:
        return await square.submit(6)  # type: ignore[no-any-return]
    assert asyncio.run(main()) == 36


def test_bad_fields_are_clear_errors() -> None:
    with pytest.raises(CCError, match="give venv or requirements, not both"):
        square.options(venv="/v", requirements=["numpy"]).submit(1)
    with pytest.raises(CCError, match="unknown field colour"):
        square.options(colour="red")
    with pytest.raises(CCError, match="kind 'nonesuch'|job type named 'nonesuch'"):
        square.options(kind="nonesuch").submit(1).result(timeout=30)
    if "requirements" not in JobSpec.model_fields:
        with pytest.raises(CCError, match="requirements are not available"):
            square.options(requirements=["numpy"]).submit(1)


def prep(n: int) -> list[int]:
    return list(range(n))


def train(data: list[int], model: str = "mlp") -> dict:
    return {"model": model, "score": sum(data)}


def test_function_jobs_in_a_workflow() -> None:
    wf = Workflow("fn-workflow")
    wf.add_job("prep", function=prep, args=(5,))
    wf.add_job("train_cnn", function=train, args=(wf.result_of("prep"),), kwargs={"model": "cnn"})
    wf.add_job("after", command="true", depends=["train_cnn"])
    assert wf.jobs["train_cnn"].depends == ["prep"]
    assert wf.run(timeout=60).value == "done"
    assert result(wf.run_id, "train_cnn") == {"model": "cnn", "score": 10}
    assert "function" in wf.export("svg") or "train_cnn" in wf.export("svg")


def test_function_jobs_in_a_workflow_file(tmp_path: Path) -> None:
    (tmp_path / "analytics").mkdir()
    (tmp_path / "analytics" / "__init__.py").write_text("")
    (tmp_path / "analytics" / "models.py").write_text(textwrap.dedent("""
        def prep(n):
            return list(range(n))

        def train(data, model="mlp", scale=1):
            return {"model": model, "score": sum(data) * scale}

        class ModelError(Exception):
            pass

        def broken():
            raise ModelError("only the far side knows this type")
    """))
    (tmp_path / "wf.yaml").write_text(textwrap.dedent("""
        name: fn-file
        defaults: {cache: true}
        jobs:
          prep: {function: "analytics.models:prep", args: [4]}
          train: {function: "analytics.models:train", args: [{result_of: prep}], kwargs: {model: cnn, scale: 3}}
          bad: {function: "analytics.models:nonesuch"}
          broken: {function: "analytics.models:broken"}
    """))
    done = subprocess.run(ccw_command("run", str(tmp_path / "wf.yaml")), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert result("fn-file", "train") == {"model": "cnn", "score": 18}
    with pytest.raises(AttributeError, match="nonesuch"):
        result("fn-file", "bad")
    with pytest.raises(RemoteError) as caught:      # its type cannot be unpickled here: the plain RemoteError
        result("fn-file", "broken")
    assert type(caught.value) is RemoteError and caught.value.remote_type == "analytics.models.ModelError"
    assert "only the far side knows this type" in str(caught.value)
    status = subprocess.run(ccw_command("status", "fn-file", "--json"), capture_output=True, text=True, timeout=60).stdout
    assert "raised AttributeError" in status
    models = tmp_path / "analytics" / "models.py"
    models.write_text(models.read_text().replace("* scale}", "* scale + 1}"))   # the module changed: run again
    again = subprocess.run(ccw_command("run", str(tmp_path / "wf.yaml")), capture_output=True, text=True, timeout=60)
    assert again.returncode == 1, again.stdout + again.stderr
    assert result("fn-file", "train") == {"model": "cnn", "score": 19}


MAIN_SCRIPT = """
import sys
from cc_core import function

@function
def shout(word):
    return word.upper() + "!"

fut = shout.submit(sys.argv[1])
print(fut.run, fut.job, flush=True)
if len(sys.argv) > 2:
    import time
    time.sleep(60)          # killed here, before it collects the result
print(fut.result())
"""


def test_a_function_from_main_of_a_script(tmp_path: Path) -> None:
    script = tmp_path / "shouting.py"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script), "hello"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    run, job, value = done.stdout.split()
    assert value == "HELLO!"
    record = open_store().get_run(int(run))
    assert record.workflow == "shouting" and record.state.value == "done"


def test_a_call_whose_caller_died_is_collected_after_resume(tmp_path: Path) -> None:
    script = tmp_path / "dying.py"
    script.write_text(MAIN_SCRIPT.replace("return word.upper()", "import time; time.sleep(1.5); return word.upper()"))
    caller = subprocess.Popen([sys.executable, str(script), "late", "die"], stdout=subprocess.PIPE, text=True)
    assert caller.stdout is not None
    run, job = caller.stdout.readline().split()
    caller.send_signal(signal.SIGKILL)
    caller.wait(timeout=10)
    resumed = subprocess.run(ccw_command("run", "--resume", run), capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert result(int(run), job) == "LATE!"


BIG_SCRIPT = """
import resource, sys
import numpy
from cc_core import function

@function
def big(n):
    import numpy
    return numpy.ones(n, dtype=numpy.uint8)

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
value = big(100 * 1000 * 1000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(value.nbytes, int(value.sum()), (after - before) * 1024)
"""


def test_a_100_mb_result_costs_the_caller_little_more_than_itself(tmp_path: Path) -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("numpy is not installed (requirements-dev.txt)")
        pytest.skip("numpy is not installed")
    script = tmp_path / "big.py"
    script.write_text(BIG_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    size, total, growth = map(int, done.stdout.split())
    assert size == total == 100_000_000
    assert growth < 2.2 * size, f"peak memory grew by {growth / size:.2f}x the result"


STAND_IN = """#!/bin/sh
# A stand-in interpreter: the real Python, reporting Python 3.99 (one CPython exists on the test machines).
exec {python} -c "import sys, runpy; sys.version_info = (3, 99, 0, 'final', 0); sys.argv = sys.argv[1:]; \
runpy.run_path(sys.argv[0], run_name='__main__')" "$@"
"""


def test_a_python_version_mismatch_is_refused_before_the_call(tmp_path: Path) -> None:
    stand_in = tmp_path / "python3.99"
    stand_in.write_text(STAND_IN.format(python=sys.executable))
    stand_in.chmod(0o755)
    fut = square.options(python=str(stand_in)).submit(2)
    with pytest.raises(VersionMismatchError) as caught:
        fut.result(timeout=30)
    here = "%d.%d" % sys.version_info[:2]
    assert f"the caller runs Python {here}" in str(caught.value) and "this side runs Python 3.99" in str(caught.value)
    assert "half way" not in (caught.value.log_tail or "")   # the function never ran


def test_a_python_without_cloudpickle_is_told_what_to_install(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=60)
    import cloudpickle

    with pytest.raises(VersionMismatchError, match=f"cloudpickle is not installed for .*cloudpickle=={cloudpickle.__version__}"):
        square.options(python=str(bare / "bin" / "python")).submit(2).result(timeout=30)


@pytest.fixture(scope="session")
def cloudpickle2_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second environment with a real cloudpickle 2.x from the package registry (built once per session)."""
    folder = tmp_path_factory.mktemp("cloudpickle2") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=60)
    target = folder / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                                "cloudpickle>=2,<3"], capture_output=True, text=True, timeout=180)
    if installed.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"could not install cloudpickle 2.x: {installed.stderr}")
        pytest.skip(f"could not install cloudpickle 2.x: {installed.stderr[-300:]}")
    return str(folder / "bin" / "python")


def test_a_cloudpickle_mismatch_is_refused_naming_both_versions(cloudpickle2_python: str) -> None:
    import cloudpickle

    fut = square.options(python=cloudpickle2_python).submit(2)
    with pytest.raises(VersionMismatchError) as caught:
        fut.result(timeout=30)
    text = str(caught.value)
    assert f"the caller has cloudpickle {cloudpickle.__version__}" in text and "has cloudpickle 2." in text


def test_the_readme_function_example_runs_as_written(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("```python\nfrom cc_core import function, best")
    code = readme[start + len("```python\n"):readme.index("```", start + 10)]
    script = tmp_path / "readme_example.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["285", "8555"]


def test_a_call_has_an_identity_of_its_function_and_arguments(tmp_path: Path) -> None:
    from cc_core.functions.payload import call_key, write_payload

    def scale(x: int, by: int = 2) -> int:
        return x * by
    paths = [tmp_path / f"{i}.pkl" for i in range(3)]
    write_payload(paths[0], function=scale, args=(1,))
    write_payload(paths[1], function=scale, args=(1,))
    write_payload(paths[2], function=scale, args=(1,), kwargs={"by": 3})
    keys = [call_key(p) for p in paths]
    assert keys[0] == keys[1] != keys[2]
    first, again = Workflow("same"), Workflow("same")
    for wf in (first, again):
        wf.add_job("scaled", function=scale, args=(1,))
    assert first.jobs["scaled"].call_file == again.jobs["scaled"].call_file     # the same definition


@function
def greeting() -> str:
    import os as _os

    return _os.environ.get("CC_TEST_GREETING", "none")


def test_defaults_from_the_settings_file_and_per_call(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "config.yaml"
    settings.write_text("functions: {defaults: {env: {CC_TEST_GREETING: from-settings}}}\n")
    try:
        assert greeting() == "from-settings"
        assert greeting.options(env={"CC_TEST_GREETING": "per-call"})() == "per-call"
    finally:
        settings.unlink()
    assert greeting() == "none"


def where_am_i(n: int) -> dict:
    import os as _os

    return {"n": n, "pid": _os.getpid()}


def test_cached_and_carried_function_jobs_keep_their_values() -> None:
    values = []
    for _ in range(2):
        wf = Workflow("cached-function")
        wf.add_job("where", function=where_am_i, args=(3,), cache=True)
        wf.add_job("broken", function=fails, args=("once",), depends=["where"])
        assert wf.run(timeout=60).value == "failed"
        values.append(result(wf.run_id, "where"))
    assert values[0] == values[1]                                 # the second came from the cache
    assert job_record(wf.run_id, "where").origin["how"] == "cached"
    rerun = wf.rerun()
    assert rerun.wait(60).value == "failed"
    assert job_record(rerun.run_id, "where").origin["how"] == "carried"
    assert result(rerun.run_id, "where") == values[0]


@function(requirements=[])
def environment_of_the_call() -> tuple:
    import sys as _sys

    import cloudpickle as _cloudpickle

    return _sys.prefix, _cloudpickle.__version__


def test_a_call_with_requirements_runs_in_a_built_environment_with_cloudpickle(home: Path) -> None:
    import cloudpickle

    prefix, version = environment_of_the_call()
    assert Path(prefix).is_relative_to(home) and version == cloudpickle.__version__
