"""cc's ``local`` job type: every job a process group on this machine."""
