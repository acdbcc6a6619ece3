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
from pipelines.sentiment.classifier import (
    CLASSIFIER_FORMAT_VERSION,
    TEXT_NORMALISATION,
    ClassifierFormatError,
    prepare_text,
)
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
from pipelines.sentiment.metrics import classification_metrics
from pipelines.sentiment.results import SentimentResult
from tests.pipelines.conftest import shared_data_dir
from tests.pipelines.sentiment_rows import TINY_TWEETS, write_tiny_tweets

REAL_TWEETS = shared_data_dir() / "twitter_financial_news_sentiment" / "sent_train.csv"


def sides_share_nothing(train: list[LabelledText], held_out: list[LabelledText]) -> None:
    for key in (normalise_text, near_duplicate_key):
        overlap = {key(r.text) for r in train} & {key(r.text) for r in held_out}
        assert not overlap, f"{key.__name__} on both sides: {sorted(overlap)[:3]}"


# --- the split --------------------------------------------------------------------------------------


def test_model_text_replaces_each_url_with_one_word_and_keeps_numbers_and_cashtags():
    text = "  $ABC up 12.5% https://t.co/x1  after www.example.com/q3 results "
    assert prepare_text(text, TEXT_NORMALISATION) == "$ABC up 12.5% url after url results"
    assert prepare_text(text, None) == "$ABC up 12.5% https://t.co/x1 after www.example.com/q3 results"
    with pytest.raises(ClassifierFormatError, match="unknown text normalisation"):
        prepare_text(text, "something-else")


def test_logit_bias_moves_the_decision_towards_an_under_predicted_class():
    from pipelines.sentiment.training import fit_logit_bias

    # logits that always lean neutral: positives score 0.6 below neutral, so argmax never says positive
    gold = ["positive"] * 10 + ["neutral"] * 10 + ["negative"] * 10
    logits = [[0.0, 1.0, 0.4]] * 10 + [[0.0, 1.0, -2.0]] * 10 + [[3.0, 1.0, 0.0]] * 10
    raw = classification_metrics(gold, [LABELS[row.index(max(row))] for row in logits])["macro_f1"]
    bias, fitted = fit_logit_bias(logits, gold)
    assert fitted > raw and fitted == pytest.approx(1.0)
    assert bias[LABELS.index("neutral")] == 0.0 and bias[LABELS.index("positive")] > 0.6
    assert bias[LABELS.index("positive")] < 3.0  # the smallest correction that does it, not the grid's edge


def test_parameter_groups_freeze_word_embeddings_and_decay_lr_towards_the_input():
    from pipelines.sentiment.artifacts import packaged_encoder_path
    from pipelines.sentiment.classifier import build_model
    from pipelines.sentiment.training import SentimentTrainingConfig, _parameter_groups

    model = build_model(packaged_encoder_path())
    config = SentimentTrainingConfig(learning_rate=1e-4, layer_lr_decay=0.5, freeze_word_embeddings=True)
    groups = _parameter_groups(model, config)
    assert not model.encoder.embeddings.word_embeddings.weight.requires_grad
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert id(model.encoder.embeddings.word_embeddings.weight) not in lr_of
    top, bottom = model.encoder.encoder.layer[-1], model.encoder.encoder.layer[0]
    assert lr_of[id(model.head.weight)] == pytest.approx(1e-4)
    assert lr_of[id(top.output.dense.weight)] == pytest.approx(0.5e-4)
    assert lr_of[id(bottom.output.dense.weight)] == pytest.approx(1e-4 * 0.5**6)
    assert {g["weight_decay"] for g in groups if any(p is top.output.LayerNorm.weight for p in g["params"])} == {0.0}


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
    config = SentimentTrainingConfig(
        max_steps=1,
        batch_size=8,
        eval_every=1,
        threads=1,
        text_normalisation=TEXT_NORMALISATION,
        label_smoothing=0.1,
        logit_bias=True,
    )
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
    config = json.loads((tiny_classifier / "sentiment_model.json").read_text())
    assert config["format_version"] == CLASSIFIER_FORMAT_VERSION
    assert config["text_normalisation"] == TEXT_NORMALISATION
    # the prior correction fitted on validation is saved with the model, and recorded with its figure
    assert len(config["logit_bias"]) == len(LABELS) and config["logit_bias"][LABELS.index("neutral")] == 0.0
    assert metrics["validation"]["logit_bias"] == config["logit_bias"]
    assert metrics["validation"]["macro_f1_with_logit_bias"] >= metrics["validation"]["macro_f1"]


def test_loaded_classifier_applies_its_saved_normalisation_and_bias(tiny_classifier):
    from pipelines.sentiment.classifier import SentimentClassifier, softmax_rows

    classifier = SentimentClassifier(tiny_classifier, threads=1)
    classifier.setup()
    saved = json.loads((tiny_classifier / "sentiment_model.json").read_text())
    assert classifier.logit_bias == saved["logit_bias"]
    assert classifier.decode(["Up 5% https://t.co/x  today"]) == ["Up 5% url today"]
    texts = ["Shares plunged after the default.", "Record profit lifts the stock."]
    expected = softmax_rows(classifier.logits(classifier.decode(texts)), saved["logit_bias"])
    got = classifier.probabilities(classifier.decode(texts))
    assert [p for row in got for p in row] == pytest.approx([p for row in expected for p in row])
    classifier.logit_bias = [0.0, 0.0, 50.0]  # a bias that large decides every label
    assert [r.label for r in classifier.predict(texts)] == ["positive", "positive"]


def test_a_format_1_classifier_is_still_read_without_normalisation_or_bias(tiny_classifier, tmp_path):
    import shutil

    from pipelines.sentiment.classifier import MODEL_CONFIG_FILE, SentimentClassifier

    old = tmp_path / "old"
    shutil.copytree(tiny_classifier, old)
    config = json.loads((old / MODEL_CONFIG_FILE).read_text())
    for key in ("text_normalisation", "logit_bias"):
        config.pop(key)
    (old / MODEL_CONFIG_FILE).write_text(json.dumps({**config, "format_version": 1}))
    classifier = SentimentClassifier(old, threads=1)
    classifier.setup()
    assert classifier.logit_bias is None and classifier.text_normalisation is None
    assert classifier.decode(["Up 5% https://t.co/x  today"]) == ["Up 5% https://t.co/x today"]
    assert all(r.label in LABELS for r in classifier.predict(["Shares plunged."]))
    (old / MODEL_CONFIG_FILE).write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(ClassifierFormatError, match="format 99"):
        SentimentClassifier(old, threads=1).setup()


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
