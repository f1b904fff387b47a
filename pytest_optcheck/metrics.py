"""Metric names as Keras logs them, and which way is better."""

from __future__ import annotations

from collections.abc import Iterable

# Scores: higher is better. Every other metric (losses, errors such as mse or mae) is better lower.
HIGHER_IS_BETTER = ("accuracy", "auc", "precision", "recall", "f1", "iou", "r2")


def higher_is_better(metric: str) -> bool:
    name = metric.removeprefix("val_").removeprefix("test_")
    return any(word in name for word in HIGHER_IS_BETTER)


def ordered(metrics: Iterable[str]) -> list[str]:
    """Training metrics first (loss first), then their validation forms in the same order."""
    names = set(metrics)
    train = sorted((m for m in names if not m.startswith("val_")), key=lambda m: (m != "loss", m))
    rest = sorted(m for m in names if m.startswith("val_") and m[4:] not in train)
    return train + [f"val_{m}" for m in train if f"val_{m}" in names] + rest


def short(metric: str) -> str:
    """A column header's form: accuracy -> acc."""
    return metric.replace("accuracy", "acc")
