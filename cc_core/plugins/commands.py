"""Extra ``ccw`` sub-commands contributed by plugins (see the ``cc_register_commands`` hook)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Command:
    """A ``ccw`` sub-command: ``configure`` adds its arguments, ``run`` does it and returns the exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
