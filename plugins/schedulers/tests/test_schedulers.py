"""The built-in schedulers' choices, given ready jobs and what already runs."""

from __future__ import annotations

from cc_core.plugins.scheduler import ReadyJob, SchedulerOptions, Slots
from cc_schedulers.parallel import ParallelScheduler
from cc_schedulers.sequential import SequentialScheduler


def ready(*specs: tuple[str, str, str]) -> list[ReadyJob]:
    return [ReadyJob(name, kind, host, i) for i, (name, kind, host) in enumerate(specs)]


def test_parallel_fills_free_slots_in_order() -> None:
    jobs = ready(*[(f"j{i}", "local", "localhost") for i in range(6)])
    chosen = ParallelScheduler(SchedulerOptions(max_parallel=4)).select(iter(jobs), Slots())
    assert [j.name for j in chosen] == ["j0", "j1", "j2", "j3"]
    busy = Slots()
    for job in jobs[:3]:
        busy.take(job)
    chosen = ParallelScheduler(SchedulerOptions(max_parallel=4)).select(iter(jobs[3:]), busy)
    assert [j.name for j in chosen] == ["j3"]


def test_parallel_respects_host_and_kind_limits_and_skips_past_full_hosts() -> None:
    jobs = ready(("a1", "ssh", "a"), ("a2", "ssh", "a"), ("a3", "ssh", "a"), ("b1", "ssh", "b"),
                 ("s1", "slurm", "login"), ("s2", "slurm", "login"), ("l1", "local", "localhost"))
    options = SchedulerOptions(max_parallel=10, host_limits={"a": 2}, kind_limits={"slurm": 1})
    chosen = ParallelScheduler(options).select(iter(jobs), Slots())
    assert [j.name for j in chosen] == ["a1", "a2", "b1", "s1", "l1"]
    running = Slots()
    running.take(jobs[0])
    chosen = ParallelScheduler(options).select(iter(jobs[1:]), running)
    assert [j.name for j in chosen] == ["a2", "b1", "s1", "l1"]


def test_parallel_stops_reading_once_full() -> None:
    seen: list[str] = []

    def endless():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            seen.append(f"j{i}")
            yield ReadyJob(f"j{i}", "local", "localhost", i)
            i += 1

    chosen = ParallelScheduler(SchedulerOptions(max_parallel=3)).select(endless(), Slots())
    assert len(chosen) == 3 and len(seen) == 3


def test_sequential_one_at_a_time_in_order() -> None:
    jobs = ready(("x", "local", "localhost"), ("y", "local", "localhost"))
    scheduler = SequentialScheduler(SchedulerOptions())
    assert [j.name for j in scheduler.select(iter(jobs), Slots())] == ["x"]
    running = Slots()
    running.take(jobs[0])
    assert scheduler.select(iter(jobs[1:]), running) == []
