"""The linear-probe baseline: logistic regression on frozen all-MiniLM-L6-v2 sentence embeddings.

scikit-learn is already in the environment (sentence-transformers depends on it). The
regularisation strength and class weighting are chosen on the validation split carved from
the training side, never on the held-out tweets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.sentiment.artifacts import packaged_encoder_path
from pipelines.sentiment.data import LABELS, LabelledText
from pipelines.sentiment.metrics import classification_metrics
from pipelines.sentiment.results import SentimentResult

PROBE_LABEL = "probe:minilm-logreg"


@dataclass
class LinearProbe:
    encoder_path: Path | None = None
    threads: int = 1
    encoder: Any = None
    classifier: Any = None
    chosen: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def setup(self) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads > 0:
            torch.set_num_threads(self.threads)
        path = self.encoder_path or packaged_encoder_path()
        self.encoder = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def embed(self, texts: Sequence[str]) -> Any:
        if self.encoder is None:
            self.setup()
        return self.encoder.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    def fit(self, fit_rows: Sequence[LabelledText], validation_rows: Sequence[LabelledText]) -> LinearProbe:
        from sklearn.linear_model import LogisticRegression

        started = time.perf_counter()
        x_fit, x_val = self.embed([r.text for r in fit_rows]), self.embed([r.text for r in validation_rows])
        y_fit = [r.label for r in fit_rows]
        best: tuple[float, Any, dict[str, Any]] = (-1.0, None, {})
        for c in (0.3, 1.0, 3.0, 10.0, 30.0):
            for weighting in (None, "balanced"):
                model = LogisticRegression(C=c, class_weight=weighting, max_iter=2000).fit(x_fit, y_fit)
                f1 = classification_metrics([r.label for r in validation_rows], list(model.predict(x_val)))["macro_f1"]
                if f1 > best[0]:
                    best = (f1, model, {"C": c, "class_weight": weighting, "validation_macro_f1": f1})
        self.classifier, self.chosen = best[1], best[2]
        self.seconds = time.perf_counter() - started
        return self

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        probabilities = self.classifier.predict_proba(self.embed(texts))
        order = list(self.classifier.classes_)
        results = []
        for row in probabilities:
            p = {label: float(row[order.index(label)]) for label in LABELS}
            label = max(p, key=p.__getitem__)
            results.append(
                SentimentResult(
                    label=label, score=p["positive"] - p["negative"], probabilities=p, model_label=PROBE_LABEL
                )
            )
        return results
