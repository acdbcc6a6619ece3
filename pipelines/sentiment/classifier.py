"""The fine-tuned sentence classifier: MiniLM encoder, mean pooling, a linear head over LABELS.

Mean pooling is how all-MiniLM-L6-v2 was trained to embed sentences, so the head starts from
embeddings that already separate topics; BERT's [CLS] pooler is not trained in that checkpoint.

On disk (``save_classifier``): the encoder (``config.json``, ``model.safetensors``), its tokenizer,
``classifier_head.safetensors`` and ``sentiment_model.json`` (format version, labels, max_length).
The trainer adds ``metrics.json`` and ``split.json``; the content hash covers all of them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.sentiment.data import LABELS
from pipelines.sentiment.results import SentimentResult

CLASSIFIER_FORMAT_VERSION = 2  # bump when the files, the head layout or the input preparation change
# Format 1 (no text normalisation, no logit bias) is still read: the missing keys mean "none".
READABLE_FORMAT_VERSIONS = (1, 2)
MODEL_CONFIG_FILE = "sentiment_model.json"
HEAD_FILE = "classifier_head.safetensors"
DEFAULT_MAX_LENGTH = 64  # tweets and news sentences: 99.5% of the training tweets fit (mean 28 tokens, max 82)
TEXT_NORMALISATION = "url-token-v1"  # what prepare_text does; saved with the model, applied at train and inference
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


def prepare_text(text: str, normalisation: str | None) -> str:
    """The text the encoder sees, identical at training and inference (the name is saved with the model).

    ``url-token-v1``: each URL becomes the word ``url``. A t.co link tokenises into ~10 word pieces
    of noise, but whether a tweet carries a link is a weak cue (half the neutral tweets have one,
    40% of the others), so one token keeps the cue and drops the noise. Numbers and cashtags stay:
    the size of a move and the ticker are part of the sentence's meaning.
    """
    text = str(text)
    if normalisation == TEXT_NORMALISATION:
        text = _URL.sub(" url ", text)
    elif normalisation:
        raise ClassifierFormatError(f"unknown text normalisation {normalisation!r}")
    return " ".join(text.split())


class ClassifierFormatError(ValueError):
    """A directory that is not a sentiment classifier of a format this code reads."""


def build_model(encoder_path: Path, *, num_labels: int = len(LABELS), dropout: float = 0.1) -> Any:
    from torch import nn
    from transformers import AutoModel

    class MeanPoolingClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(encoder_path), local_files_only=True)
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(self.encoder.config.hidden_size, num_labels)

        def forward(self, input_ids: Any, attention_mask: Any, **kwargs: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(self.dropout(pooled))

    return MeanPoolingClassifier()


def save_classifier(
    model: Any,
    tokenizer: Any,
    out_dir: Path,
    *,
    max_length: int,
    extra: dict[str, Any],
    text_normalisation: str | None = None,
    logit_bias: Sequence[float] | None = None,
) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    save_file({k: v.detach().contiguous() for k, v in model.head.state_dict().items()}, str(out_dir / HEAD_FILE))
    config = {
        "format_version": CLASSIFIER_FORMAT_VERSION,
        "task": "sentiment",
        "labels": list(LABELS),
        "max_length": max_length,
        "pooling": "mean",
        "text_normalisation": text_normalisation,
        "logit_bias": [float(b) for b in logit_bias] if logit_bias is not None else None,
        **extra,
    }
    (out_dir / MODEL_CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def softmax_rows(logits: Sequence[Sequence[float]], bias: Sequence[float] | None = None) -> list[list[float]]:
    rows = []
    for row in logits:
        shifted = [v + (bias[i] if bias is not None else 0.0) for i, v in enumerate(row)]
        top = max(shifted)
        exps = [math.exp(v - top) for v in shifted]
        total = sum(exps)
        rows.append([e / total for e in exps])
    return rows


class SentimentClassifier:
    """setup() loads a saved classifier directory; predict() returns one SentimentResult per text."""

    def __init__(self, path: Path, *, model_label: str = "", threads: int = 1, batch_size: int = 64) -> None:
        self.path = Path(path)
        self.model_label = model_label or self.path.name
        self.threads = threads
        self.batch_size = batch_size
        self.model: Any = None
        self.tokenizer: Any = None
        self.labels: list[str] = list(LABELS)
        self.max_length = DEFAULT_MAX_LENGTH
        self.text_normalisation: str | None = None
        # Added to the logits before the softmax: a per-class prior correction chosen on the
        # validation split by the trainer (training.fit_logit_bias), zero when absent.
        self.logit_bias: list[float] | None = None

    @classmethod
    def from_loaded(
        cls,
        model: Any,
        tokenizer: Any,
        *,
        max_length: int,
        model_label: str = "",
        text_normalisation: str | None = None,
        logit_bias: Sequence[float] | None = None,
    ) -> SentimentClassifier:
        """Wrap a model still in memory (validation during training), loaded from nowhere."""
        classifier = cls(Path(), model_label=model_label or "in-training", threads=0)
        classifier.model, classifier.tokenizer, classifier.max_length = model, tokenizer, max_length
        classifier.text_normalisation = text_normalisation
        classifier.logit_bias = list(logit_bias) if logit_bias is not None else None
        return classifier

    def setup(self) -> None:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        config_file = self.path / MODEL_CONFIG_FILE
        if not config_file.is_file():
            raise ClassifierFormatError(f"{self.path} is not a sentiment classifier (no {MODEL_CONFIG_FILE})")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.get("format_version") not in READABLE_FORMAT_VERSIONS:
            raise ClassifierFormatError(
                f"{self.path}: format {config.get('format_version')}, this code reads {READABLE_FORMAT_VERSIONS}"
            )
        if self.threads > 0:
            torch.set_num_threads(self.threads)
        self.labels = list(config["labels"])
        self.max_length = int(config["max_length"])
        self.text_normalisation = config.get("text_normalisation")
        prepare_text("", self.text_normalisation)  # an unknown normalisation fails at load, not per call
        bias = config.get("logit_bias")
        self.logit_bias = [float(b) for b in bias] if bias is not None else None
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        model = build_model(self.path, num_labels=len(self.labels))
        model.head.load_state_dict(load_file(str(self.path / HEAD_FILE)))
        self.model = model.eval()

    def decode(self, texts: Sequence[str]) -> list[str]:
        return [prepare_text(t, self.text_normalisation) for t in texts]

    def logits(self, texts: Sequence[str]) -> list[list[float]]:
        """Raw head outputs for prepared texts (``decode``), before the logit bias and the softmax."""
        import torch

        if self.model is None:
            self.setup()
        rows: list[list[float]] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + self.batch_size]),
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                rows.extend(logits.float().tolist())
        return rows

    def probabilities(self, texts: Sequence[str]) -> list[list[float]]:
        return softmax_rows(self.logits(texts), self.logit_bias)

    def encode(self, rows: Sequence[Sequence[float]]) -> list[SentimentResult]:
        results = []
        for row in rows:
            probabilities = dict(zip(self.labels, (float(p) for p in row), strict=True))
            label = max(probabilities, key=probabilities.__getitem__)
            score = probabilities.get("positive", 0.0) - probabilities.get("negative", 0.0)
            results.append(
                SentimentResult(
                    label=label,
                    score=max(-1.0, min(1.0, score)) if math.isfinite(score) else 0.0,
                    probabilities=probabilities,
                    model_label=self.model_label,
                )
            )
        return results

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        return self.encode(self.probabilities(self.decode(texts)))
