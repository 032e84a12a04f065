"""cc's built-in schedulers."""
