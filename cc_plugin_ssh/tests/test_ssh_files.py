"""Inputs staged to the host before a job starts, outputs copied back after it ended; a full remote disk."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cc_core.errors import JobTypeError
from cc_core.states import JobState

JOB = """\
cat data/a.txt data/b.txt settings.ini > combined.txt
mkdir -p out/deep
ls tables | sort > out/deep/listing.txt
for n in 1 2 3; do echo "part $n" > "part$n.csv"; done
echo '# cc progress=100'
"""


def test_inputs_are_staged_and_outputs_come_back(remote, tmp_path: Path) -> None:
    remote.write("job.sh", JOB)
    remote.write("data/a.txt", "alpha\n")
    remote.write("data/b.txt", "beta\n")
    remote.write("tables/t1.tsv", "1\n")
    remote.write("tables/t2.tsv", "2\n")
    elsewhere = tmp_path / "elsewhere" / "settings.ini"
    elsewhere.parent.mkdir()
    elsewhere.write_text("[x]\n")
    job = remote.submit("files", script="job.sh", inputs=["data/*.txt", "tables", str(elsewhere)],
                        outputs=["combined.txt", "out", "part*.csv"])
    update = remote.wait_end(job)["files"]
    assert update.state is JobState.DONE, remote.wait_log(job, b"")
    local = job.launch.job_dir
    assert (local / "combined.txt").read_text() == "alpha\nbeta\n[x]\n"
    assert (local / "out" / "deep" / "listing.txt").read_text() == "t1.tsv\nt2.tsv\n"
    assert sorted(p.name for p in local.glob("part*.csv")) == ["part1.csv", "part2.csv", "part3.csv"]
    assert (local / "part2.csv").read_text() == "part 2\n"


def test_a_missing_output_fails_the_job_and_names_it(remote) -> None:
    job = remote.submit("forgetful", command="echo made > made.txt", outputs=["made.txt", "never.txt"])
    update = remote.wait_end(job)["forgetful"]
    assert update.state is JobState.FAILED
    assert "'never.txt' was not made" in update.reason and "job 'forgetful'" in update.reason
    assert (job.launch.job_dir / "made.txt").read_text() == "made\n"


def test_outputs_of_a_failed_job_are_fetched_when_there(remote) -> None:
    job = remote.submit("partial", command="echo half > half.txt; exit 2", outputs=["half.txt", "full.txt"])
    update = remote.wait_end(job)["partial"]
    assert (update.state, update.exit_code) == (JobState.FAILED, 2)
    assert (job.launch.job_dir / "half.txt").read_text() == "half\n"


def test_an_input_missing_at_submit_is_named(remote) -> None:
    with pytest.raises(JobTypeError) as caught:
        remote.submit("needs_input", command="true", inputs=["later.csv"], depends=["maker"])
    message = str(caught.value)
    assert "input 'later.csv' does not exist" in message and "job 'needs_input'" in message


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 256 KB file system (tmpfs), or a skip where mounting is not allowed."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.parametrize("inputs", [{"big.bin": "x" * (1 << 20)},                       # copied over SFTP
                                    {f"t{i}.txt": "y\n" * 30000 for i in range(6)}])    # written inline
def test_a_full_remote_disk_is_reported_as_such(sshd, remote_factory, small_disk: Path, inputs) -> None:
    remote = remote_factory(sshd, remote_root=str(small_disk))
    for name, text in inputs.items():
        remote.write(name, text)
    job = remote.job("big", command="true", inputs=list(inputs))
    with pytest.raises(JobTypeError) as caught:
        remote.job_type.submit(remote.launch(job))
    message = str(caught.value)
    assert "remote disk full" in message and "job 'big'" in message and f"host '{sshd.alias}'" in message
    assert "remote_root" in message  # the way out
