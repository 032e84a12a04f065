"""Function jobs built in Python: ``wf.add_job("train", function=train, args=(wf.result_of("prep"),))``.

The function (by value, with cloudpickle) and its arguments are written once into a call file under
``$CC_HOME/calls/workflows/``, named by the call's identity (:func:`cc_core.functions.payload.call_key`); the job
records its path, so the run can be resumed by another process. The fields of an
``@function`` are the job's defaults; fields given to ``add_job`` win.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from cc_core.functions.payload import ResultOf, call_key, write_payload


def function_job_fields(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The job fields of a function job whose ``function`` is a Python callable."""
    from cc_core.functions.decorator import RemoteFunction
    from cc_core.functions.options import job_fields, merged, settings_defaults
    from cc_core.home import cc_home

    fields = dict(fields)
    target = fields.pop("function")
    args = tuple(fields.pop("args", ()) or ())
    kwargs = dict(fields.pop("kwargs", {}) or {})
    if isinstance(target, RemoteFunction):
        function, ref = target.function, target.ref
        fields = merged(job_fields(merged(settings_defaults(), target.fields), f"job '{name}'"), fields)
    else:
        function = target
        ref = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', 'call')}"
        fields = merged(settings_defaults(), fields)
    folder = cc_home() / "calls" / "workflows"
    written = folder / f".{name}-{uuid.uuid4().hex[:12]}.pkl"
    write_payload(written, function=function, args=args, kwargs=kwargs, name=ref)
    # Named by the call's identity: the same call made again names the same file (so the job's definition, and
    # with it its cache key, is the same too).
    call_file = folder / f"{call_key(written)}.pkl"
    os.replace(written, call_file)
    depends = list(fields.get("depends") or [])
    for value in (*args, *kwargs.values()):
        if isinstance(value, ResultOf) and value.job not in depends:
            depends.append(value.job)
    fields.update(function=ref, call_file=str(call_file), depends=depends)
    return fields
