"""The labelled finance tweets and the held-out split every sentiment model is measured on.

Source: ``twitter_financial_news_sentiment/sent_train.csv`` of the shared data folder
(``ARGUS_SHARED_DATA``; MIT, see its LICENSE_NOTE.md), read in place and never copied.
Labels: 0 = bearish -> ``negative``, 1 = bullish -> ``positive``, 2 = neutral -> ``neutral``.

How the split is made (``split_labelled_texts``; the benchmark prints ``SplitDescription.describe()``):

1. **Normalise** each text (``normalise_text``): strip URLs (``http(s)://...``, ``www....``),
   lowercase, collapse whitespace. The same tweet is often posted with a different t.co link.
2. **De-duplicate**: rows with the same normalised text become one row. When their labels
   disagree, the majority label wins; a tie drops the text (it cannot be scored fairly).
3. **Group near-duplicates** (``near_duplicate_key``): the normalised text with punctuation
   removed (``$`` and ``%`` kept), so "Apple beats estimates." and "apple beats estimates"
   are one group. A group goes to one side of the split as a whole, so a near-copy of a
   held-out tweet is never trained on.
4. **Stratified, seeded split**: groups are bucketed by label (the label of their first row),
   each bucket is shuffled with ``random.Random(seed)`` (seed 13) and ``round(20%)`` of its
   groups are held out. The validation split for early stopping is carved the same way
   (10%, seed + 1) from the training side only; the held-out side is never seen in training.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
SOURCE_LABELS = {"0": "negative", "1": "positive", "2": "neutral"}  # the dataset card's 0 bearish, 1 bullish
TWEETS_FOLDER = "twitter_financial_news_sentiment"
TWEETS_FILE = "sent_train.csv"
DEFAULT_SEED = 13
DEFAULT_HELD_OUT_FRACTION = 0.2
DEFAULT_VALIDATION_FRACTION = 0.1

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w$%]+")


class SentimentDataError(FileNotFoundError):
    """The labelled tweets are not where the settings say."""


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str  # one of LABELS


@dataclass(frozen=True)
class SplitDescription:
    """What a model was trained and measured on: enough to rebuild the split and to compare runs."""

    source: str
    dataset_sha256: str
    rows: int
    unique_texts: int
    dropped_conflicting: int
    groups: int
    seed: int
    held_out_fraction: float
    train_counts: dict[str, int]
    held_out_counts: dict[str, int]
    method: str = (
        "normalise (strip URLs, lowercase, collapse whitespace); de-duplicate on the normalised text "
        "(majority label, ties dropped); group near-duplicates (normalised text without punctuation) "
        "and keep each group on one side; stratified by label, seeded shuffle, round(fraction) of "
        "each label's groups held out"
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dataset_sha256": self.dataset_sha256,
            "rows": self.rows,
            "unique_texts": self.unique_texts,
            "dropped_conflicting": self.dropped_conflicting,
            "groups": self.groups,
            "seed": self.seed,
            "held_out_fraction": self.held_out_fraction,
            "train_counts": self.train_counts,
            "held_out_counts": self.held_out_counts,
            "method": self.method,
        }

    def describe(self) -> str:
        train, held = sum(self.train_counts.values()), sum(self.held_out_counts.values())
        return (
            f"{self.source} (sha256 {self.dataset_sha256[:12]}): {self.rows} rows -> {self.unique_texts} unique "
            f"normalised texts ({self.dropped_conflicting} dropped for tied labels) in {self.groups} near-duplicate "
            f"groups; {self.method}; seed {self.seed}, held out {self.held_out_fraction:.0%}: "
            f"train {train} {self.train_counts}, held-out {held} {self.held_out_counts}"
        )


@dataclass(frozen=True)
class SentimentSplit:
    train: list[LabelledText]
    held_out: list[LabelledText]
    description: SplitDescription
    extra: dict[str, Any] = field(default_factory=dict)


def tweets_path(shared_data: Path) -> Path:
    return Path(shared_data) / TWEETS_FOLDER / TWEETS_FILE


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_labelled_tweets(path: Path) -> list[LabelledText]:
    """The rows of ``sent_train.csv`` (``text,label``) with the dataset's labels mapped to ours."""
    path = Path(path)
    if not path.is_file():
        raise SentimentDataError(
            f"labelled tweets not found at {path} (set ARGUS_SHARED_DATA to the shared/data folder)"
        )
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            LabelledText(text=row["text"], label=SOURCE_LABELS[row["label"].strip()]) for row in csv.DictReader(handle)
        ]


def normalise_text(text: str) -> str:
    return " ".join(_URL.sub(" ", text).lower().split())


def near_duplicate_key(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", normalise_text(text)).split())


def deduplicate(rows: Sequence[LabelledText]) -> tuple[list[LabelledText], int]:
    """One row per normalised text (the first spelling kept), majority label; ties are dropped."""
    first_text: dict[str, str] = {}
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        key = normalise_text(row.text)
        first_text.setdefault(key, row.text)
        votes[key][row.label] += 1
    unique, dropped = [], 0
    for key, text in first_text.items():
        (label, top), *rest = votes[key].most_common()
        if rest and rest[0][1] == top:
            dropped += 1
            continue
        unique.append(LabelledText(text=text, label=label))
    return unique, dropped


def _grouped(rows: Sequence[LabelledText]) -> list[list[LabelledText]]:
    groups: dict[str, list[LabelledText]] = {}
    for row in rows:
        groups.setdefault(near_duplicate_key(row.text), []).append(row)
    return list(groups.values())


def _split_groups(
    groups: list[list[LabelledText]], *, fraction: float, seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    by_label: dict[str, list[list[LabelledText]]] = defaultdict(list)
    for group in groups:
        by_label[group[0].label].append(group)
    rng = random.Random(seed)
    kept: list[LabelledText] = []
    held: list[LabelledText] = []
    for label in sorted(by_label):
        bucket = by_label[label]
        rng.shuffle(bucket)
        cut = round(len(bucket) * fraction)
        for group in bucket[:cut]:
            held.extend(group)
        for group in bucket[cut:]:
            kept.extend(group)
    return kept, held


def _counts(rows: Sequence[LabelledText]) -> dict[str, int]:
    counts = Counter(r.label for r in rows)
    return {label: counts.get(label, 0) for label in LABELS}


def split_labelled_texts(
    rows: Sequence[LabelledText],
    *,
    seed: int = DEFAULT_SEED,
    held_out_fraction: float = DEFAULT_HELD_OUT_FRACTION,
    source: str = "",
    dataset_sha256: str = "",
) -> SentimentSplit:
    """Train and held-out sides with no normalised text, nor near-duplicate group, on both (module doc)."""
    unique, dropped = deduplicate(rows)
    groups = _grouped(unique)
    train, held_out = _split_groups(groups, fraction=held_out_fraction, seed=seed)
    description = SplitDescription(
        source=source,
        dataset_sha256=dataset_sha256,
        rows=len(rows),
        unique_texts=len(unique),
        dropped_conflicting=dropped,
        groups=len(groups),
        seed=seed,
        held_out_fraction=held_out_fraction,
        train_counts=_counts(train),
        held_out_counts=_counts(held_out),
    )
    return SentimentSplit(train=train, held_out=held_out, description=description)


def validation_split(
    train: Sequence[LabelledText], *, seed: int = DEFAULT_SEED + 1, fraction: float = DEFAULT_VALIDATION_FRACTION
) -> tuple[list[LabelledText], list[LabelledText]]:
    """(fit, validation) carved from the training side only, near-duplicate groups kept together."""
    return _split_groups(_grouped(train), fraction=fraction, seed=seed)


def load_tweet_split(
    shared_data: Path, *, seed: int = DEFAULT_SEED, held_out_fraction: float = DEFAULT_HELD_OUT_FRACTION
) -> SentimentSplit:
    """The held-out split of the real tweets under ``shared_data`` (read in place)."""
    path = tweets_path(shared_data)
    rows = load_labelled_tweets(path)
    return split_labelled_texts(
        rows,
        seed=seed,
        held_out_fraction=held_out_fraction,
        source=f"{TWEETS_FOLDER}/{TWEETS_FILE}",
        dataset_sha256=file_sha256(path),
    )
