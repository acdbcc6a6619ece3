"""Finance sentiment pipeline: the held-out split, the lexicon baselines, classify's registered model and fallback,
per-entity aggregation. No database; the one trained model is a 1-step fine-tune on ~30 rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pipelines.sentiment as sentiment
from pipelines.sentiment.artifacts import ActiveClassifier, directory_content_hash, write_active_pointer
from pipelines.sentiment.data import (
    LABELS,
    LabelledText,
    load_labelled_tweets,
    near_duplicate_key,
    normalise_text,
    split_labelled_texts,
    validation_split,
)
from pipelines.sentiment.entities import EntitySentence, aggregate_entity_sentiment, tag_entity_mentions
from pipelines.sentiment.lexicons import FinVaderLexicon, LoughranMcDonaldLexicon
from pipelines.sentiment.results import SentimentResult
from tests.pipelines.conftest import shared_data_dir
from tests.pipelines.sentiment_rows import TINY_TWEETS, write_tiny_tweets

REAL_TWEETS = shared_data_dir() / "twitter_financial_news_sentiment" / "sent_train.csv"


def sides_share_nothing(train: list[LabelledText], held_out: list[LabelledText]) -> None:
    for key in (normalise_text, near_duplicate_key):
        overlap = {key(r.text) for r in train} & {key(r.text) for r in held_out}
        assert not overlap, f"{key.__name__} on both sides: {sorted(overlap)[:3]}"


# --- the split --------------------------------------------------------------------------------------


def test_normalise_strips_urls_lowercases_and_collapses_whitespace():
    assert normalise_text("  $ABC  Beats https://t.co/x1   estimates www.example.com ") == "$abc beats estimates"


def test_split_keeps_duplicates_and_near_duplicates_on_one_side(tmp_path):
    rows = load_labelled_tweets(write_tiny_tweets(tmp_path))
    for seed in range(20):  # whichever side the $ABC group falls on, all of it is there
        split = split_labelled_texts(rows, seed=seed, held_out_fraction=0.3)
        sides_share_nothing(split.train, split.held_out)
        abc = [side for side in ("train", "held_out") for r in getattr(split, side) if "$abc" in r.text.lower()]
        assert len(abc) == 2 and len(set(abc)) == 1  # two spellings survive de-duplication, one side
        assert len(split.train) + len(split.held_out) == split.description.unique_texts


def test_split_is_stratified_and_seeded(tmp_path):
    rows = load_labelled_tweets(write_tiny_tweets(tmp_path))
    first = split_labelled_texts(rows, seed=7, held_out_fraction=0.3)
    again = split_labelled_texts(rows, seed=7, held_out_fraction=0.3)
    assert first.held_out == again.held_out
    assert set(first.description.held_out_counts) == set(LABELS)
    assert all(count >= 2 for count in first.description.held_out_counts.values())
    fit, validation = validation_split(first.train, fraction=0.3)
    sides_share_nothing(fit, validation)
    assert {r.text for r in validation} <= {r.text for r in first.train}


def test_a_text_with_tied_labels_is_dropped():
    rows = [LabelledText("Stock moves", "positive"), LabelledText("stock moves", "negative")]
    split = split_labelled_texts([*rows, LabelledText("Another", "neutral")], held_out_fraction=0.5)
    assert split.description.dropped_conflicting == 1
    assert all("moves" not in r.text for r in split.train + split.held_out)


@pytest.mark.shared_data
def test_real_tweets_split_has_no_duplicate_across_sides():
    if not REAL_TWEETS.exists():
        pytest.skip(f"shared data not found at {REAL_TWEETS} (set ARGUS_SHARED_DATA to the shared/data folder)")
    from pipelines.sentiment.data import load_tweet_split

    split = load_tweet_split(shared_data_dir())
    sides_share_nothing(split.train, split.held_out)
    share = len(split.held_out) / (len(split.train) + len(split.held_out))
    assert 0.18 < share < 0.22
    assert "seed 13" in split.description.describe()


# --- lexicon baselines ------------------------------------------------------------------------------

CLEAR_SENTENCES = [
    ("Losses widened and the company defaulted on its debt.", "negative"),
    ("Profit fell sharply after the impairment and litigation charges.", "negative"),
    ("Record profitability and strong gains lifted the outlook.", "positive"),
    ("The bank achieved excellent results and improved its margins.", "positive"),
    ("The annual meeting is on Tuesday in Chicago.", "neutral"),
]


@pytest.mark.parametrize("lexicon_class", [LoughranMcDonaldLexicon, FinVaderLexicon])
def test_lexicon_baselines_label_clear_sentences(lexicon_class):
    lexicon = lexicon_class()
    results = lexicon.predict([text for text, _ in CLEAR_SENTENCES])
    assert [r.label for r in results] == [label for _, label in CLEAR_SENTENCES]
    for result in results:
        assert -1.0 <= result.score <= 1.0
        assert sum(result.probabilities.values()) == pytest.approx(1.0)
        assert result.model_label == lexicon.name


# --- classify: fallback, registered model, hash check -------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_model_cache():
    sentiment.reset_cache()
    yield
    sentiment.reset_cache()


def test_classify_without_a_registered_model_uses_the_lexicon_fallback_and_says_so(tmp_path):
    text = "Profit fell sharply after the impairment and litigation charges."
    results = sentiment.classify_with_scores([text], models_dir=tmp_path)
    assert results[0].model_label == sentiment.FALLBACK_MODEL_LABEL == "lexicon-fallback:finvader"
    assert results[0].label == "negative"
    assert sentiment.classify([text], models_dir=tmp_path) == ["negative"]
    assert sentiment.active_model_label(tmp_path) == "lexicon-fallback:finvader"


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory) -> Path:
    """A real MiniLM classifier directory after one optimizer step on ~30 rows (fast, not accurate)."""
    from pipelines.sentiment.training import SentimentTrainingConfig, train_and_save

    root = tmp_path_factory.mktemp("sentiment")
    split = split_labelled_texts(load_labelled_tweets(write_tiny_tweets(root / "shared")), held_out_fraction=0.3)
    config = SentimentTrainingConfig(max_steps=1, batch_size=8, eval_every=1, threads=1)
    report = train_and_save(models_dir=root / "models", version="v1", split=split, config=config)
    assert report.content_hash == directory_content_hash(report.path)
    return report.path


def register(models_dir: Path, path: Path, content_hash: str | None = None) -> ActiveClassifier:
    active = ActiveClassifier(
        name="tiny", version="1", path=str(path), content_hash=content_hash or directory_content_hash(path)
    )
    write_active_pointer(models_dir, active)
    return active


def test_trained_directory_holds_model_tokenizer_metrics_and_split(tiny_classifier):
    names = {p.name for p in tiny_classifier.iterdir()}
    assert {"config.json", "model.safetensors", "classifier_head.safetensors", "tokenizer.json"} <= names
    metrics = json.loads((tiny_classifier / "metrics.json").read_text())
    assert 0.0 <= metrics["held_out"]["macro_f1"] <= 1.0 and metrics["steps"] == 1
    split = json.loads((tiny_classifier / "split.json").read_text())
    assert split["seed"] == 13 and "near-duplicates" in split["method"]


def test_classify_loads_the_registered_model(tiny_classifier, tmp_path):
    active = register(tmp_path, tiny_classifier)
    texts = ["Shares plunged after the default.", "Record profit lifts the stock.", "Meeting on Tuesday."]
    results = sentiment.classify_with_scores(texts, models_dir=tmp_path)
    assert [r.model_label for r in results] == [active.model_label] * 3
    assert active.model_label.startswith("tiny@1:")
    for result in results:
        assert result.label in LABELS
        assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert result.score == pytest.approx(result.probabilities["positive"] - result.probabilities["negative"])
    assert sentiment.classify(texts, models_dir=tmp_path) == [r.label for r in results]


def test_classify_refuses_a_model_whose_files_do_not_match_the_registered_hash(tiny_classifier, tmp_path):
    register(tmp_path, tiny_classifier, content_hash="0" * 64)
    with pytest.raises(sentiment.SentimentModelHashMismatch, match="refusing"):
        sentiment.classify(["Shares plunged."], models_dir=tmp_path)


def test_classify_refuses_a_model_changed_after_registration(tiny_classifier, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_classifier, copy)
    register(tmp_path, copy)
    (copy / "metrics.json").write_text('{"held_out": {"macro_f1": 0.99}}')  # someone "improves" the record
    with pytest.raises(sentiment.SentimentModelHashMismatch):
        sentiment.classify(["Shares plunged."], models_dir=tmp_path)


# --- per-entity aggregation -------------------------------------------------------------------------


def result(label: str, score: float) -> SentimentResult:
    return SentimentResult(label=label, score=score, probabilities={}, model_label="test")


def test_entity_aggregate_counts_only_sentences_that_mention_the_entity():
    sentences = [
        EntitySentence("Apple beat estimates.", ("AAPL",)),
        EntitySentence("Microsoft missed and Apple rose.", ("MSFT", "AAPL")),
        EntitySentence("Markets were calm.", ()),
        EntitySentence("Microsoft cut guidance.", ("MSFT", "MSFT")),
    ]
    results = [result("positive", 0.8), result("negative", -0.4), result("negative", -1.0), result("negative", -0.6)]
    per_entity = aggregate_entity_sentiment(sentences, results)
    assert set(per_entity) == {"AAPL", "MSFT"}
    assert per_entity["AAPL"].sentences == 2 and per_entity["AAPL"].mean_score == pytest.approx(0.2)
    assert per_entity["AAPL"].counts == {"negative": 1, "neutral": 0, "positive": 1}
    assert per_entity["MSFT"].sentences == 2 and per_entity["MSFT"].mean_score == pytest.approx(-0.5)
    assert per_entity["MSFT"].label == "negative"


def test_entity_mentions_match_whole_names_and_cashtags():
    tagged = tag_entity_mentions(
        ["$AMD rallies.", "Amdocs reports.", "Apple and pineapple growers.", "No company here."],
        {"AMD": ["Advanced Micro Devices"], "AAPL": ["Apple"]},
    )
    assert [t.entities for t in tagged] == [("AMD",), (), ("AAPL",), ()]


def test_entity_sentiment_classifies_only_mentioning_sentences(tmp_path):
    sentences = tag_entity_mentions(
        ["Apple posted record profit and strong gains.", "Rivals suffered heavy losses and defaults."],
        {"AAPL": ["Apple"]},
    )
    per_entity = sentiment.entity_sentiment(sentences, models_dir=tmp_path)
    assert list(per_entity) == ["AAPL"]
    assert per_entity["AAPL"].sentences == 1 and per_entity["AAPL"].mean_score > 0
    assert per_entity["AAPL"].model_labels == ("lexicon-fallback:finvader",)


def test_importing_the_pipeline_loads_no_model_library():
    code = (
        "import sys, pipelines.sentiment, pipelines.sentiment.training, pipelines.sentiment.lexicons; "
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'django', 'finvader', 'nltk') "
        "if m in sys.modules]; assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_tiny_rows_cover_every_label():
    assert {label for _, label in TINY_TWEETS} == {"0", "1", "2"}
