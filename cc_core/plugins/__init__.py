"""The contracts plugins implement (job types, schedulers, progress parsers, commands) and how plugins are found."""
