"""pytest-optcheck: claims about optimizers, checked as pytest items against stored baselines."""

__version__ = "0.1.0"
