"""Analytics functions: a Python function call runs as a cc job on any host or cluster and returns its result.

One idea per module: :mod:`~cc_core.functions.decorator` (``@function``, ``.options``, ``submit``, ``map``),
:mod:`~cc_core.functions.options` (job fields from the settings, the decorator and per call),
:mod:`~cc_core.functions.future` (the future of a call), :mod:`~cc_core.functions.process_run` (the run that
holds a process's calls), :mod:`~cc_core.functions.payload` (the files that travel),
:mod:`~cc_core.functions.remote` (the far-side runner), :mod:`~cc_core.functions.job` (a function job as the
job types see it), :mod:`~cc_core.functions.errors`, :mod:`~cc_core.functions.results` (a finished call's value),
:mod:`~cc_core.functions.compete` (``race``, ``best``), :mod:`~cc_core.functions.progress`.
"""
