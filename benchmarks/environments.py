"""The cost of environments once built: the cached check per job, and what ``requirements:`` adds to a run.

Builds one environment (from a wheel made on the spot, no network) in a fresh ``CC_HOME``, then measures:

* the check of the first job of a run that needs it (a file lookup on this machine: ``EnvironmentStep.begin`` of
  a fresh step), and of the others (known to the run), per job;
* a run of N trivial jobs sharing that environment against the same run without ``requirements:``, in process,
  per job.

    .venv/bin/python benchmarks/environments.py WORK_DIR [N]      # prints one JSON line
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path


def main(work: Path, count: int) -> dict[str, float]:
    os.environ["CC_HOME"] = str(work / "home")
    from cc_core.api import Workflow
    from cc_core.environments.step import EnvironmentStep
    from cc_core.plugins.jobtype import Launch
    from cc_core.plugins.registry import get_registry
    from cc_core.settings import make_job_type
    from cc_core.testing.wheels import make_wheel, offline_requirements
    from cc_core.workflow.model import JobSpec

    wheels = work / "wheels"
    make_wheel(wheels, "ccbench", "1.0")
    requirements = offline_requirements(wheels, "ccbench==1.0")

    def workflow(name: str, with_env: bool) -> Workflow:
        wf = Workflow(name, directory=work)
        for i in range(count):
            wf.add_job(f"j{i}", command="true", **({"requirements": requirements} if with_env else {}))
        return wf

    started = time.perf_counter()
    assert workflow("build", True).run(max_parallel=2).value == "done"
    build = time.perf_counter() - started

    local = make_job_type(get_registry(), "local")
    spec = JobSpec(name="j", command="true", requirements=requirements)
    launch = Launch(run_id=1, workflow="w", job=spec, attempt=1, job_dir=work / "j", workflow_dir=work,
                    log_path=work / "j" / "j.log", env={})
    first, known = [], []
    for _ in range(300):
        step = EnvironmentStep(lambda job: local, work, lambda message: None)
        t0 = time.perf_counter()
        assert step.begin(launch) is not None
        t1 = time.perf_counter()
        assert step.begin(launch) is not None
        t2 = time.perf_counter()
        first.append(t1 - t0)
        known.append(t2 - t1)

    plain, with_env = [], []
    for round_no in range(3):
        for wanted, into in ((False, plain), (True, with_env)):
            t0 = time.perf_counter()
            assert workflow(f"r{round_no}{int(wanted)}", wanted).run(max_parallel=2).value == "done"
            into.append(time.perf_counter() - t0)
    return {"jobs": count, "build_s": build,
            "first_check_ms": statistics.median(first) * 1000, "first_check_p95_ms": sorted(first)[284] * 1000,
            "known_check_ms": statistics.median(known) * 1000,
            "run_plain_s": statistics.median(plain), "run_with_env_s": statistics.median(with_env),
            "per_job_ms": (statistics.median(with_env) - statistics.median(plain)) / count * 1000}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200)))
