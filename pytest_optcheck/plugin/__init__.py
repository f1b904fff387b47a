"""The pytest plugin: hooks, items, fixtures, epoch-time benchmarks and the session's state."""
