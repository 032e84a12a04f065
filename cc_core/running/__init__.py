"""Driving a run: the engine, starting and resuming runs, control from other processes, the run lock, events."""
