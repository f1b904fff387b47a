"""Runs handed out by identity: run keys, the run cache, the runner, progress."""
