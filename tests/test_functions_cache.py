"""Cached calls outside a workflow: the same call (code, arguments, environment) made again in another process
returns the stored result as a ``done (cached)`` job without running; a changed argument or function body, a call
with ``force=True`` or ``cache=False``, and a call that raised run again. A ledger file each call appends to says
whether it ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cc_core.testing.polling import ccw_command

SCRIPT = textwrap.dedent('''
    import json, sys
    from cc_core import function

    LEDGER = sys.argv[1]

    @function(DECORATOR)
    def double(x):
        with open(LEDGER, "a") as handle:
            handle.write(f"{x}\\n")
        if x < 0:
            raise ValueError("negative")
        return 2 * x + BODY

    call = double.options(**json.loads(sys.argv[3]))
    try:
        value = call(int(sys.argv[2]))
    except ValueError as exc:
        value = f"raised {exc.remote_message}"
    print(json.dumps(value))
''')


@pytest.fixture()
def calls(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "CC_HOME": str(tmp_path / "cc-home")}
    ledger = tmp_path / "ledger.txt"

    def call(x: int, body: int = 0, name: str = "calc", decorator: str = "cache=True",
             **options: object) -> tuple[object, list[str]]:
        script = tmp_path / f"{name}.py"
        script.write_text(SCRIPT.replace("BODY", str(body)).replace("DECORATOR", decorator))
        done = subprocess.run([sys.executable, str(script), str(ledger), str(x), json.dumps(options)],
                              capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        ran = ledger.read_text().split() if ledger.exists() else []
        return json.loads(done.stdout.strip().splitlines()[-1]), ran

    def status(run: str) -> dict[str, object]:
        out = subprocess.run(ccw_command("status", run, "--json"), capture_output=True, text=True, timeout=60,
                             env=env)
        assert out.returncode == 0, out.stderr
        return {j["name"]: j for j in json.loads(out.stdout)["jobs"]}

    call.status = status  # type: ignore[attr-defined]
    call.home = tmp_path / "cc-home"  # type: ignore[attr-defined]
    return call


def test_the_same_call_in_another_process_is_cached(calls) -> None:  # type: ignore[no-untyped-def]
    assert calls(5) == (10, ["5"])
    value, ran = calls(5, name="other")            # another process and script: another run of calls
    assert (value, ran) == (10, ["5"])
    job = calls.status("other")["double-1"]
    assert job["state"] == "done" and (job.get("origin") or {}).get("how") == "cached"


def test_a_changed_argument_or_body_runs_and_opting_out_runs(calls) -> None:  # type: ignore[no-untyped-def]
    assert calls(5) == (10, ["5"])
    assert calls(6) == (12, ["5", "6"])                       # another argument
    assert calls(5, body=1) == (11, ["5", "6", "5"])          # another function body
    assert calls(5, force=True) == (10, ["5", "6", "5", "5"])      # force: runs, its result is kept
    assert calls(5, cache=False) == (10, ["5", "6", "5", "5", "5"])
    assert calls(5)[1] == ["5", "6", "5", "5", "5"]           # still cached


def test_a_call_that_raised_is_never_cached(calls) -> None:  # type: ignore[no-untyped-def]
    assert calls(-1) == ("raised negative", ["-1"])
    assert calls(-1) == ("raised negative", ["-1", "-1"])
    assert calls.status("calc")["double-1"]["state"] == "failed"


def test_the_cache_from_options_or_the_settings_file(calls) -> None:  # type: ignore[no-untyped-def]
    assert calls(3, decorator="") == (6, ["3"])                            # the cache is off by default
    assert calls(3, decorator="") == (6, ["3", "3"])
    assert calls(3, decorator="", cache=True) == (6, ["3", "3", "3"])     # .options(cache=True): kept ...
    assert calls(3, decorator="", cache=True) == (6, ["3", "3", "3"])     # ... and found
    calls.home.mkdir(parents=True, exist_ok=True)
    (calls.home / "config.yaml").write_text("functions: {defaults: {cache: true}}\n")
    assert calls(4, decorator="") == (8, ["3", "3", "3", "4"])
    assert calls(4, decorator="") == (8, ["3", "3", "3", "4"])            # the settings file's defaults
