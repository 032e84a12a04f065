"""cc's REST service and browser GUI (``ccw serve``), and a small Python client for it.

``cc_web.app.create_app`` builds the FastAPI app; ``cc_web.client.Client`` talks to a running service.
"""

from __future__ import annotations

__version__ = "0.1.0"
