"""What people read: the markdown report, terminal tables, diffs and plots."""
