"""Stored baselines: typed records, building and writing them, comparing curves with them."""
