"""Changes to a workflow file made when it is loaded: ``ccw run FILE --set KEY.PATH=VALUE`` and ``--override FILE``.

A setting names a place in the workflow file by its keys, joined with dots, and gives a value written as YAML:

    --set defaults.kind=slurm               # every job that does not name its own kind runs on SLURM
    --set defaults.env.EPOCHS=1             # env and options are mappings: one key of them
    --set jobs.train.args='[--lr, "0.1"]'   # a list
    --set limits.max_parallel=8
    --set jobs.train.timeout=null           # null takes the key out, as if it had not been written

The file is changed as if the value had been written there, before anything is checked, so the result is
validated like the file. Missing mappings on the way are made (``defaults:`` in a file without one), except a job:
``jobs.NAME.FIELD`` needs a job the file defines. An override file is a YAML mapping shaped like the workflow
file; each value in it is a setting at its place (``{defaults: {kind: slurm}}`` is ``--set defaults.kind=slurm``).
Mappings in it are merged key by key. Later settings win over earlier ones; ``--override`` files come before
``--set``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import yaml

from cc_core.errors import CCError, Problem


@dataclass(frozen=True)
class Setting:
    """One change: the keys leading to a place in the file, the value put there, and how the user wrote it."""

    path: tuple[str, ...]
    value: Any
    origin: str          # "--set defaults.kind=slurm" or "override.yaml: defaults.kind", for messages


def parse_setting(text: str) -> Setting:
    """``KEY.PATH=VALUE`` as a :class:`Setting`; an empty VALUE is the empty string."""
    key, sep, raw = text.partition("=")
    parts = tuple(part.strip() for part in key.split("."))
    if not sep or not key.strip() or any(not part for part in parts):
        raise CCError(f"--set '{text}' is not a setting", hint="write KEY.PATH=VALUE, e.g. --set defaults.kind=slurm")
    if not raw.strip():
        return Setting(parts, "", f"--set {text}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc)
        raise CCError(f"--set '{text}': the value is not valid YAML: {reason}",
                      hint="quote it for the shell, e.g. --set 'jobs.train.args=[--lr, \"0.1\"]'") from None
    return Setting(parts, value, f"--set {text}")


def read_override_file(path: str | Path) -> list[Setting]:
    """The settings of an override file: a YAML mapping shaped like the workflow file."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CCError(f"{file}: cannot read the override file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        raise CCError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise CCError(f"{file}: an override file is a mapping shaped like the workflow file "
                      "(e.g. 'defaults: {kind: slurm}')")
    return list(_flatten(data, (), file))


def _flatten(data: dict[Any, Any], prefix: tuple[str, ...], file: Path) -> Iterable[Setting]:
    """Mappings are merged key by key (deeply), any other value replaces what is there."""
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and value:
            yield from _flatten(value, path, file)
        else:
            yield Setting(path, value, f"{file}: {'.'.join(path)}")


def settings_from(sets: Sequence[str] = (), files: Sequence[str] = ()) -> list[Setting]:
    """The settings of ``--override`` files, then of ``--set``, in the order they are applied."""
    found: list[Setting] = []
    for file in files:
        found += read_override_file(file)
    found += [parse_setting(text) for text in sets]
    return found


def settings_record(settings: Sequence[Setting]) -> list[dict[str, Any]]:
    """Settings as plain data, kept with a run so that ``ccw rerun`` reads the file again with the same changes."""
    return [{"path": list(s.path), "value": s.value, "origin": s.origin} for s in settings]


def settings_from_record(record: Iterable[dict[str, Any]]) -> list[Setting]:
    return [Setting(tuple(item["path"]), item.get("value"), str(item.get("origin", ""))) for item in record]


def apply_settings(root: Any, settings: Sequence[Setting], file: Optional[Path]) -> list[Problem]:
    """Change the loaded YAML tree ``root`` (nodes with ``value``, ``line`` and ``key_lines``) in place; a problem for
    each setting that cannot be applied."""
    problems: list[Problem] = []
    node_type = type(root)
    for setting in settings:
        problem = _apply(root, setting, node_type)
        if problem:
            problems.append(Problem(f"{setting.origin}: {problem}", file=file))
    return problems


def _apply(root: Any, setting: Setting, node_type: type) -> Optional[str]:
    node = root
    keys = list(setting.path)
    walked: list[str] = []
    while True:
        if not isinstance(node.value, dict):
            where = ".".join(walked) or "the file"
            return f"'{where}' is not a mapping, so it has no '{keys[0]}'"
        key, used = _next_key(node.value, keys)
        rest = keys[used:]
        if not rest:
            if setting.value is None:
                node.value.pop(key, None)
                node.key_lines.pop(key, None)
                return None
            line = node.key_lines.get(key, node.line)
            node.value[key] = _node(setting.value, line, node_type)
            node.key_lines[key] = line
            return None
        if key not in node.value:
            if walked == ["jobs"]:
                known = ", ".join(sorted(node.value)) or "none"
                return f"the workflow has no job '{key}' (jobs: {known})"
            if setting.value is None:
                return None   # taking out what is not there
            node.value[key] = node_type({}, node.line)
            node.key_lines[key] = node.line
        elif node.value[key].value is None:
            node.value[key] = node_type({}, node.value[key].line)
        walked.append(key)
        node = node.value[key]
        keys = rest


def _next_key(mapping: dict[str, Any], keys: list[str]) -> tuple[str, int]:
    """The key the path goes on with and how many of its parts it takes: the longest run of parts that is a key
    (job names may hold dots), else the first part."""
    for count in range(len(keys), 0, -1):
        candidate = ".".join(keys[:count])
        if candidate in mapping:
            return candidate, count
    return keys[0], 1


def _node(value: Any, line: int, node_type: type) -> Any:
    if isinstance(value, dict):
        return node_type({str(k): _node(v, line, node_type) for k, v in value.items()}, line,
                         {str(k): line for k in value})
    if isinstance(value, list):
        return node_type([_node(v, line, node_type) for v in value], line)
    return node_type(value, line)
