"""The benchmark workloads: DAGs of trivial jobs (each runs ``true``), written as a cc workflow file, a Makefile
for GNU make and a JSON edge list for the Dask reference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

Jobs = dict[str, list[str]]   # job name -> names of its parents, parents always before children


@dataclass(frozen=True)
class Workload:
    key: str          # W1, W2, W3, SCALE
    title: str
    jobs: Jobs

    @property
    def size(self) -> int:
        return len(self.jobs)

    @property
    def edges(self) -> int:
        return sum(len(p) for p in self.jobs.values())


def independent(count: int) -> Jobs:
    return {f"j{i}": [] for i in range(count)}


def chain(length: int) -> Jobs:
    return {f"j{i}": [f"j{i - 1}"] if i else [] for i in range(length)}


def layers_all_to_all(layers: int, width: int) -> Jobs:
    """Every job of a layer depends on every job of the layer before it."""
    return {f"l{layer}_{i}": [f"l{layer - 1}_{k}" for k in range(width)] if layer else []
            for layer in range(layers) for i in range(width)}


def layers_sparse(layers: int, width: int, fan_in: int) -> Jobs:
    """Every job depends on ``fan_in`` neighbouring jobs of the layer before it (a wide, deep DAG whose edge count
    grows like its job count)."""
    return {f"l{layer}_{i}": [f"l{layer - 1}_{(i + k) % width}" for k in range(fan_in)] if layer else []
            for layer in range(layers) for i in range(width)}


def standard() -> list[Workload]:
    return [
        Workload("W1", "500 independent jobs", independent(500)),
        Workload("W2", "chain of 200 jobs", chain(200)),
        Workload("W3", "20 layers x 25 jobs, each layer on all of the previous", layers_all_to_all(20, 25)),
    ]


def scale() -> Workload:
    return Workload("SCALE", "10,000 jobs: 50 layers x 200, each job on 3 of the previous layer",
                    layers_sparse(50, 200, 3))


def write_workflow(workload: Workload, path: Path, command: str = "true") -> Path:
    lines = [f"name: bench-{workload.key.lower()}", "jobs:"]
    for name, parents in workload.jobs.items():
        lines.append(f"  {name}:")
        lines.append(f"    command: {json.dumps(command)}")
        if parents:
            lines.append(f"    depends: [{', '.join(parents)}]")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_makefile(workload: Workload, path: Path, command: str = "true") -> Path:
    names = list(workload.jobs)
    lines = [f".PHONY: all {' '.join(names)}", f"all: {' '.join(names)}"]
    for name, parents in workload.jobs.items():
        lines.append(f"{name}: {' '.join(parents)}")
        lines.append(f"\t@{command}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_edges(workload: Workload, path: Path) -> Path:
    path.write_text(json.dumps(workload.jobs))
    return path
