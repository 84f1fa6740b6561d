"""`cell`: the operators' command (start the system, manage topics, ...)."""
