"""The web plugin: contributes ``ccw serve``."""

from __future__ import annotations

from typing import Callable

from cc_core.plugins.commands import Command
from cc_core.plugins.hookspecs import hookimpl


@hookimpl
def cc_register_commands(register: Callable[[Command], None]) -> None:
    from cc_web.serve import SERVE

    register(SERVE)
