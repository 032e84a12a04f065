"""Up-to-date checks: a job whose cache key matches an earlier successful attempt of the same workflow becomes
``done (cached)`` without running (docs/states.md, "Cache").

``key`` computes a job's key, ``folder`` keeps and copies job folders, ``lookup`` finds an earlier attempt,
``gate`` is what the engine asks before it schedules a job, ``diff`` says why two runs' jobs differ.
"""
