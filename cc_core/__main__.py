"""``python -m cc_core`` is ``ccw``."""

import sys

from cc_core.cli.main import main

sys.exit(main())
