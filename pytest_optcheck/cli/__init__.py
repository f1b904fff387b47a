"""The `optcheck` command and its `sensitivity` trials."""
