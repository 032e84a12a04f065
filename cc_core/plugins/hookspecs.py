"""cc's plugin hooks.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names are the hooks below. It is found
through an entry point in group ``cc`` of its distribution::

    [project.entry-points.cc]
    myplugin = "my_package.plugin"

cc's own built-ins (the SQLite store, the progress parsers, the local job type, the schedulers) register through
exactly this path. Each ``cc_register_*`` hook is given a ``register`` callback; the plugin calls it once per class
it provides. cc owns the naming: two plugins registering the same name is an error naming both distributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    from cc_core.plugins.commands import Command
    from cc_core.plugins.jobtype import JobType
    from cc_core.plugins.progress import ProgressParser
    from cc_core.plugins.scheduler import Scheduler
    from cc_core.store.base import StatusStore

PROJECT = "cc"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def cc_register_job_types(register: Callable[[type[JobType]], None]) -> None:
    """Register job types: where and how a job runs.

    :param register: call ``register(cls)`` for each :class:`cc_core.plugins.jobtype.JobType` subclass this plugin
        provides. ``cls.name`` is the ``kind:`` a workflow file uses (``local``, ``ssh``, ``slurm``, ``wsl``). A job
        type with heavy imports may be registered by path, ``register("package.module:Class", name="kind")``: it is
        imported only when a workflow uses the kind (any ``register`` callback accepts this form).
    :return: nothing; every plugin's implementation is called.
    """


@hookspec
def cc_register_schedulers(register: Callable[[type[Scheduler]], None]) -> None:
    """Register schedulers: which ready jobs may start now.

    :param register: call ``register(cls)`` for each :class:`cc_core.plugins.scheduler.Scheduler` subclass. ``cls.name`` is
        what ``ccw run --scheduler NAME`` and ``Workflow.run(scheduler=NAME)`` select.
    :return: nothing; every plugin's implementation is called.
    """


@hookspec
def cc_register_status_stores(register: Callable[[type[StatusStore]], None]) -> None:
    """Register status stores: where runs, job states and their history are recorded.

    :param register: call ``register(cls)`` for each :class:`cc_core.store.base.StatusStore` subclass. ``cls.name`` is
        the scheme of ``CC_STORE`` (``sqlite``, the default).
    :return: nothing; every plugin's implementation is called.
    """


@hookspec
def cc_register_progress_parsers(register: Callable[[type[ProgressParser]], None]) -> None:
    """Register progress parsers: how a job's log lines report progress.

    :param register: call ``register(cls)`` for each :class:`cc_core.plugins.progress.ProgressParser` subclass. All
        registered parsers read every job's log; the first one that understands a line wins.
    :return: nothing; every plugin's implementation is called.
    """


@hookspec
def cc_register_commands(register: Callable[[Command], None]) -> None:
    """Register extra ``ccw`` commands (``ccw serve`` comes from the web plugin this way).

    :param register: call ``register(command)`` with a :class:`cc_core.plugins.commands.Command` for each sub-command.
    :return: nothing; every plugin's implementation is called.
    """


@hookspec
def cc_register_functions(register: Callable[..., None]) -> None:
    """Register analytics functions that ``ccw serve`` offers over REST (beside those the settings file names
    under ``functions:``).

    :param register: call ``register(function, name=None)`` for each: ``function`` is a Python function, an
        ``@function`` (its job fields say where calls run), or an import path ``"module:name"`` imported when
        the service first lists or calls it; ``name`` is the name in ``/api/functions/{name}`` (default: the
        function's own name). Two plugins registering one name is an error naming both.
    :return: nothing; every plugin's implementation is called.
    """
