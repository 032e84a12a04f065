"""Test support shipped with cc: the job-type contract tests and fixtures that start real components (sshd,
SLURM) for a plugin's own test suite."""
