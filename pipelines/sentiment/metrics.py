"""Accuracy and F1 by hand: no scikit-learn needed where the classifier runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipelines.sentiment.data import LABELS


def classification_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """accuracy, macro_f1 and per-class precision/recall/F1/support over LABELS."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    per_class: dict[str, dict[str, float]] = {}
    for label in LABELS:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return {
        "n": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "macro_f1": sum(c["f1"] for c in per_class.values()) / len(LABELS),
        "per_class": per_class,
    }
