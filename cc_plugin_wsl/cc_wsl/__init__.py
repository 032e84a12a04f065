"""cc's ``wsl`` job type: jobs that run inside a Linux distribution of the Windows Subsystem for Linux."""
