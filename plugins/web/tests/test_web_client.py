"""The Python client against a real server: the same operations as the REST API, errors as cc's exceptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from cc_web.client import APIError, Client

from cc_core.errors import RunNotFoundError, WorkflowError


def test_a_scientist_uploads_runs_waits_and_reads_logs(server: Any, tmp_path: Path) -> None:
    (tmp_path / "analysis.yaml").write_text(
        "name: analysis\njobs:\n  clean:\n    script: clean.py\n  report:\n    command: 'echo report'\n"
        "    depends: [clean]\n")
    (tmp_path / "clean.py").write_text("print('cleaned 3 rows')\n")
    with Client(server.url) as cc:
        stored = cc.upload_workflow(tmp_path / "analysis.yaml", scripts=[tmp_path / "clean.py"])
        assert stored["jobs"] == 2
        assert [w["name"] for w in cc.workflows()] == ["analysis"]
        run = cc.start("analysis", max_parallel=2)
        final = cc.wait(run["id"], timeout=20)
        assert final["state"] == "done"
        assert cc.read_log(run["id"], "clean") == "cleaned 3 rows\n"
        status = cc.status(run["id"])
        assert status["counts"] == {"done": 2}
        assert cc.run_job(run["id"], "report")["status"]["exit_code"] == 0
        assert cc.runs(workflow="analysis")[0]["id"] == run["id"]
        assert "<svg" in cc.export("analysis", "svg")
        assert "clean.py" in cc.export("analysis", "yaml")


def test_editing_a_stored_workflow(server: Any, two_jobs: str) -> None:
    with Client(server.url) as cc:
        cc.store_workflow(two_jobs, name="edited")
        cc.add_job("edited", "third", command="echo 3")
        cc.add_dependency("edited", "second", "third")
        assert cc.job("edited", "third")["depends"] == ["second"]
        cc.remove_dependency("edited", "second", "third")
        cc.remove_job("edited", "third")
        assert [j["name"] for j in cc.workflow("edited")["job_specs"]] == ["first", "second"]
        cc.delete_workflow("edited")
        assert cc.workflows() == []


def test_kill_and_add_jobs_through_the_client(server: Any, wait: Callable[..., Any]) -> None:
    with Client(server.url) as cc:
        cc.store_workflow("name: steer\njobs:\n  a: {command: 'sleep 30'}\n")
        run_id = cc.start("steer")["id"]
        wait("the job to run", lambda: cc.status(run_id)["jobs"][0]["state"] == "running")
        assert cc.add_run_job(run_id, "b", command="echo b")["action"] == "add_job"
        wait("the added job to finish", lambda: {j["name"]: j["state"] for j in cc.jobs(run_id)}.get("b") == "done")
        cc.kill(run_id, "a")
        final = cc.wait(run_id, timeout=15)
        assert final["state"] in ("killed", "failed")
        assert {j["name"]: j["state"] for j in cc.jobs(run_id)} == {"a": "killed", "b": "done"}


def test_errors_are_ccs_own_exceptions(server: Any, serve: Callable[..., Any]) -> None:
    with Client(server.url) as cc:
        with pytest.raises(WorkflowError) as invalid:
            cc.store_workflow("name: bad\njobs:\n  a:\n    command: 'true'\n    timeout: soon\n")
        problem = invalid.value.problems[0]
        assert (problem.job, problem.field, problem.line) == ("a", "timeout", 5)
        with pytest.raises(RunNotFoundError):
            cc.status(4242)
        with pytest.raises(RunNotFoundError):
            cc.start("never-stored")
        assert {p["name"] for p in cc.plugins()} >= {"web", "local"}
        assert "parallel" in {s["name"] for s in cc.schedulers()}
    locked = serve(token="right")
    with Client(locked.url, token="wrong") as cc:
        with pytest.raises(APIError) as refused:
            cc.workflows()
        assert refused.value.status == 401
    with Client(locked.url, token="right") as cc:
        assert cc.workflows() == []
