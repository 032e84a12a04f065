"""The engine driving real local processes through the local job type's macOS path, on Linux: MacOSOps selected,
cc's ``/proc`` readers, ``os.pidfd_open`` and ``select.epoll`` taken away (cc_local.process_ops.simulated)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from cc_core.api import Workflow
from cc_core.running.control import run_status
from cc_core.states import RunState
from cc_core.testing.contract import count_local_processes
from cc_core.testing.polling import wait_for
from cc_local.process_ops.macos import MacOSOps
from cc_local.process_ops.simulated import select_macos_path


@pytest.fixture
def adopted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tags of the jobs the macOS path started (proof that it, not the Linux path, ran them)."""
    ops = select_macos_path(monkeypatch)
    tags: list[str] = []
    monkeypatch.setattr(ops, "adopt", lambda process, tag: tags.append(tag))
    assert isinstance(ops, MacOSOps)
    return tags


def test_branches_fail_skip_and_go_on(cc_home: Path, adopted: list[str]) -> None:
    wf = Workflow("macos-branches")
    wf.add_job("root", command="true")
    wf.add_job("bad", command="echo oops >&2; exit 4", depends=["root"])
    wf.add_job("after-bad", command="true", depends=["bad"])
    wf.add_job("good", command="echo fine > fine.txt", depends=["root"])
    assert wf.run(timeout=60) is RunState.FAILED
    jobs = {j["name"]: j for j in run_status(wf.run_id)["jobs"]}
    assert {n: (j["state"], j["exit_code"]) for n, j in jobs.items()} == {
        "root": ("done", 0), "bad": ("failed", 4), "after-bad": ("skipped", None), "good": ("done", 0)}
    assert (Path(run_status(wf.run_id)["run_dir"]) / "good" / "fine.txt").read_text(encoding="utf-8") == "fine\n"
    assert len(adopted) == 3


def test_kill_ends_the_job_and_what_it_moved_to_a_session_of_its_own(cc_home: Path, adopted: list[str]) -> None:
    marker = f"cc-macos-engine-{uuid.uuid4().hex[:8]}"
    wf = Workflow("macos-kill")
    wf.add_job("long", command=f"(setsid bash -c 'exec -a {marker} sleep 600' &); sleep 600")
    controller = wf.start()
    try:
        wait_for(lambda: count_local_processes(marker) == 1, timeout=30, what="the setsid grandchild")
        wf.kill()
        assert controller.wait(30) is RunState.KILLED
    finally:
        wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")
    assert {j["name"]: j["state"] for j in run_status(wf.run_id)["jobs"]} == {"long": "killed"}
