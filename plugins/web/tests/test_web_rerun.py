"""``POST /api/runs/{run}/rerun`` and ``Client.rerun`` against a real server: a failed run of a stored workflow,
fixed and rerun, carries its done jobs over; a run that has not ended is refused with 409."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from cc_web.client import Client

from cc_core.errors import RunNotEndedError

BROKEN = "name: fixme\njobs:\n  first: {command: 'echo one'}\n  second: {command: 'exit 4', depends: [first]}\n"


def test_a_failed_run_fixed_and_rerun_through_the_client(server: Any, wait: Callable[..., Any]) -> None:
    with Client(server.url) as cc:
        cc.store_workflow(BROKEN)
        failed = cc.start("fixme")["id"]
        assert cc.wait(failed, timeout=20)["state"] == "failed"
        cc.store_workflow(BROKEN.replace("exit 4", "echo two"))   # fix the stored workflow, rerun
        started = cc.rerun(failed)
        assert started["rerun_of"] == failed and started["run"] != failed
        final = cc.wait(started["run"], timeout=20)
        assert final["state"] == "done" and final["rerun_of"] == failed
        jobs = {j["name"]: j for j in cc.jobs(started["run"])}
        assert jobs["first"]["origin"] == {"how": "carried", "run": failed, "job": "first", "attempt": 1}
        assert jobs["second"]["origin"] is None and cc.read_log(started["run"], "second") == "two\n"
        again = cc.rerun(started["run"], jobs=["first"], stored=True)   # --jobs: first and what is below it
        assert cc.wait(again["run"], timeout=20)["state"] == "done"
        assert all(j["origin"] is None for j in cc.jobs(again["run"]))


def test_a_run_that_goes_on_is_not_rerun(server: Any, api: Any, wait: Callable[..., Any]) -> None:
    with Client(server.url) as cc:
        cc.store_workflow("name: busy\njobs:\n  a: {command: 'sleep 30'}\n")
        run_id = cc.start("busy")["id"]
        wait("the job to run", lambda: cc.status(run_id)["jobs"][0]["state"] == "running")
        with pytest.raises(RunNotEndedError) as caught:
            cc.rerun(run_id)
        assert getattr(caught.value, "status", None) == 409 and "has ended" in str(caught.value)
        cc.kill(run_id)
        assert cc.wait(run_id, timeout=15)["state"] == "killed"


def test_a_failed_run_is_rerun_not_resumed(server: Any) -> None:
    from cc_core.errors import RunEndedError

    with Client(server.url) as cc:
        cc.store_workflow(BROKEN)
        failed = cc.start("fixme")["id"]
        assert cc.wait(failed, timeout=20)["state"] == "failed"
        with pytest.raises(RunEndedError) as caught:
            cc.resume(failed)
        assert getattr(caught.value, "status", None) == 409 and f"ccw rerun {failed}" in str(caught.value)
        assert cc.status(failed)["state"] == "failed"
