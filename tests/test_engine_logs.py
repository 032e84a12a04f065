"""Long logs: an ended job's log is read to its very end, and progress lines cost nothing per line of log."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from cc_core.api import Workflow
from cc_core.plugins.progress import CCProgressParser, LineScanner, ProgressReport
from cc_core.states import RunState

CHATTY = ("python3 -c \"import sys\n"
          "for i in range({lines}): sys.stdout.write('line %d of a chatty job\\n' % i)\n"
          "sys.stdout.write('# cc progress=97 msg=\\\"{last}\\\"{end}')\"")


def test_the_last_progress_line_of_a_long_log_counts(cc_home: Path, tmp_path: Path) -> None:
    """9 MB of output, then a progress line: it is the job's last word even past the 4 MiB a read takes."""
    wf = Workflow("chatty", directory=tmp_path)
    wf.add_job("talker", command=CHATTY.format(lines=400_000, last="the very end", end="\\n"))
    wf.add_job("no-newline", command=CHATTY.format(lines=10, last="unfinished line", end=""))
    assert wf.run(timeout=120) is RunState.DONE
    jobs = {job["name"]: job for job in wf.status()["jobs"]}
    talker = jobs["talker"]
    log = Path(talker["log_path"])
    assert log.stat().st_size > 9_000_000
    assert (talker["state"], talker["progress"], talker["message"]) == ("done", 100.0, "the very end")
    assert jobs["no-newline"]["message"] == "unfinished line"
    assert Path(jobs["no-newline"]["log_path"]).read_bytes().endswith(b'msg="unfinished line"')


class CountingParser(CCProgressParser):
    calls = 0

    def parse(self, line: str) -> Optional[ProgressReport]:
        CountingParser.calls += 1
        return super().parse(line)


def test_a_million_progress_lines_are_not_each_parsed() -> None:
    chunk = b"".join(b'# cc progress=%d msg="step %d"\n' % (i // 10_000, i) for i in range(1_000_000))
    scanner = LineScanner([CountingParser()])
    CountingParser.calls = 0
    report = scanner.last_report(chunk, ("progress", "message"))
    assert report is not None and (report.progress, report.message) == (99.0, "step 999999")
    assert CountingParser.calls == 1


def test_each_field_comes_from_the_last_line_that_gives_it() -> None:
    chunk = (b'# cc status=running progress=10 msg="loading"\n' + b"plain output\n" * 1000 +
             b"# cc progress=40\n" + b"more output\n" * 1000 + b"# cc progress=55\n")
    report = LineScanner([CCProgressParser()]).last_report(chunk)
    assert report is not None
    assert (report.progress, report.status, report.message) == (55.0, "running", "loading")
    assert LineScanner([CCProgressParser()]).last_report(b"nothing to see\n" * 100) is None
