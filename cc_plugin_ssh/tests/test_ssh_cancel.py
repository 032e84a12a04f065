"""Cancelling an ssh job ends its whole remote process tree."""

from __future__ import annotations

import time

from cc_core.states import JobState

TREE = """\
sleep 300 & echo $! >> pids
setsid sleep 301 & echo $! >> pids
sh -c 'sleep 302 & echo $! >> pids; wait' & echo $! >> pids
echo '# cc status=running progress=10'
wait
"""


def test_cancel_ends_the_remote_tree_with_its_grandchildren(remote, alive) -> None:
    remote.write("tree.sh", TREE)
    job = remote.submit("tree", script="tree.sh")
    pids = [int(p) for p in remote.remote_file(job, "pids", lines=4).split()]
    wrapper = int(job.handle["pid"])
    assert sorted(alive(remote.shell, pids + [wrapper])) == sorted(pids + [wrapper])

    remote.job_type.cancel([job.active])
    update = remote.wait_end(job)["tree"]
    assert update.state is JobState.KILLED
    assert alive(remote.shell, pids + [wrapper]) == []
    assert remote.shell.run(f"test -f {job.folder}/cc.cancelled").exit_code == 0


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_time(remote, alive) -> None:
    remote.write("stubborn.sh", "trap '' TERM\necho $$ > me\nwhile :; do sleep 0.1; done\n")
    job = remote.submit("stubborn", script="stubborn.sh")
    me = int(remote.remote_file(job, "me"))
    remote.job_type.cancel([job.active])
    assert remote.wait_end(job)["stubborn"].state is JobState.KILLED
    assert alive(remote.shell, [me, int(job.handle["pid"])]) == []


def test_cancelling_a_job_that_already_ended_leaves_its_end_alone(remote) -> None:
    job = remote.submit("quick", command="exit 0")
    remote.remote_file(job, "cc.exit_code")
    remote.job_type.cancel([job.active])
    update = remote.wait_end(job)["quick"]
    assert (update.state, update.exit_code) == (JobState.DONE, 0)


def test_one_cancel_command_ends_many_jobs_of_a_host(remote, alive, sent) -> None:
    jobs = [remote.submit(f"sleeper{i}", command="sleep 300") for i in range(3)]
    connection = remote.job_type.pool.connections()[0]
    before = sent(connection)
    remote.job_type.cancel([job.active for job in jobs])
    assert sent(connection) - before == 1
    assert {u.state for u in remote.wait_end(*jobs).values()} == {JobState.KILLED}
    assert alive(remote.shell, [int(job.handle["pid"]) for job in jobs]) == []


ESCAPES = """\
(setsid sh -c 'echo $$ >> pids; exec sleep 303' &)
sleep 300 & echo $! >> pids
echo '# cc status=running progress=10'
wait
"""


def test_cancel_ends_processes_that_left_the_session(remote, alive) -> None:
    remote.write("escapes.sh", ESCAPES)
    job = remote.submit("escapes", script="escapes.sh")
    pids = [int(p) for p in remote.remote_file(job, "pids", lines=2).split()]
    assert sorted(alive(remote.shell, pids)) == sorted(pids)
    remote.job_type.cancel([job.active])
    assert remote.wait_end(job)["escapes"].state is JobState.KILLED
    assert alive(remote.shell, pids) == []


def test_what_a_job_leaves_behind_ends_with_it_unless_it_keeps_it(remote, alive) -> None:
    leaves = ("(setsid sh -c 'trap \"\" TERM; echo $$ > left.new; mv left.new left; exec sleep 304' &); "
              "while [ ! -s left ]; do sleep 0.05; done; echo started")
    left = remote.submit("leaves", command=leaves)
    kept = remote.submit("keeps", command=leaves, keep_orphans=True)
    ended = remote.wait_end(left, kept)
    assert {name: u.state for name, u in ended.items()} == {"leaves": JobState.DONE, "keeps": JobState.DONE}
    left_pid, kept_pid = int(remote.remote_file(left, "left")), int(remote.remote_file(kept, "left"))
    deadline = time.monotonic() + 15
    while alive(remote.shell, [left_pid]) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert alive(remote.shell, [left_pid]) == []
        assert alive(remote.shell, [kept_pid]) == [kept_pid]
    finally:
        remote.shell.run(f"kill -KILL {kept_pid} {left_pid}")
