"""Finance sentiment: every model on the same de-duplicated held-out tweets, then a demo-world sanity check.

    python -m bench.sentiment                      # the registered classifier (active.json), else train one
    python -m bench.sentiment --model-dir DIR      # a saved classifier directory
    python -m bench.sentiment --model-dir DIR --extra-model-dir DIR2   # also a seed ensemble of DIR + DIR2
    python -m bench.sentiment --train              # fine-tune a new one into var/bench/sentiment/
    python -m bench.sentiment --demo-docs 0        # skip the demo-world check

Models, one run, one table: the Loughran-McDonald and FinVADER lexicons; a linear probe (logistic
regression on frozen MiniLM embeddings, C chosen on the validation split); the fine-tuned MiniLM
classifier as saved (with the logit bias its trainer fitted on validation) and without that bias;
the fine-tuned model + the probe (mean of their probabilities, no weight tuned); and, given
``--extra-model-dir``, a seed ensemble (mean logits of the fine-tuned models, the first one's bias).
All are scored on the held-out split of ``sent_train.csv`` (``ARGUS_SHARED_DATA``), which none was
trained or tuned on; the split is printed first. Ratios are macro-F1 against FinVADER, in this
process; "predict s" of an ensemble is the sum of its members' (each member is one encoder pass).

Measured (n=1888 held-out, 1 torch thread, 2 shared cores at load 4-10; macro-F1 / accuracy):
LM 0.476 / 0.608, FinVADER 0.509 / 0.573, probe 0.677 / 0.770; the first recipe's fine-tuned model
(3 epochs) 0.815 / 0.860. Format-2 runs that got only ~300 steps (1.4 epochs) of a loaded CPU,
``--model-dir`` seed 13 ``--extra-model-dir`` seed 21: fine-tuned 0.779 / 0.828 (0.767 / 0.830 with
its validation-fitted bias), + probe 0.752 / 0.821 (1.8x the predict time), 2 seeds 0.776 / 0.837
(2.1x). training.py says what each choice measured on validation.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, pin_threads, print_table, print_thread_settings


def shared_data_default() -> Path:
    return Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def score(model: Any, rows: list[Any]) -> tuple[dict[str, Any], float]:
    from pipelines.sentiment.metrics import classification_metrics

    started = time.perf_counter()
    predicted = [r.label for r in model.predict([r.text for r in rows])]
    seconds = time.perf_counter() - started
    return classification_metrics([r.label for r in rows], predicted), seconds


def label_rows(probabilities: list[list[float]]) -> list[str]:
    from pipelines.sentiment.data import LABELS

    return [LABELS[max(range(len(LABELS)), key=row.__getitem__)] for row in probabilities]


def fine_tuned_rows(classifiers: list[Any], rows: list[Any]) -> tuple[list[list[list[float]]], list[float]]:
    """Each classifier's raw logits on ``rows`` and the seconds it took (decode included)."""
    logits, seconds = [], []
    for classifier in classifiers:
        started = time.perf_counter()
        logits.append(classifier.logits(classifier.decode([r.text for r in rows])))
        seconds.append(time.perf_counter() - started)
    return logits, seconds


def fine_tuned_classifier(args: argparse.Namespace, split: Any, threads: int) -> tuple[Any, dict[str, Any], str]:
    """(classifier, its metrics.json, where it came from)."""
    from pipelines.sentiment.artifacts import read_active_pointer
    from pipelines.sentiment.classifier import SentimentClassifier
    from pipelines.sentiment.training import METRICS_FILE, SentimentTrainingConfig, train_and_save

    model_dir: Path | None = args.model_dir
    origin = "--model-dir"
    if model_dir is None and not args.train:
        active = read_active_pointer(args.models_dir)
        if active is not None:
            model_dir, origin = Path(active.path), f"registered {active.model_label}"
    if model_dir is None:
        config = SentimentTrainingConfig(threads=threads, epochs=args.epochs, max_seconds=args.max_seconds)
        version = time.strftime("bench-%Y%m%d-%H%M%S")
        print(f"training a classifier ({config.to_dict()}) ...", flush=True)
        report = train_and_save(models_dir=REPO_ROOT / "var" / "bench", version=version, split=split, config=config)
        model_dir, origin = report.path, "trained now"
    classifier = SentimentClassifier(model_dir, model_label=f"fine-tuned:{model_dir.name}", threads=threads)
    classifier.setup()
    metrics = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
    return classifier, metrics, f"{origin} ({model_dir})"


def demo_world_check(classifier: Any, n_documents: int) -> None:
    """News and notes of the demo corpus: per-document entity sentiment against the tone it was written with."""
    from fixtures.demo_corpus import build_company_master, build_demo_corpus
    from pipelines.sentiment.entities import aggregate_entity_sentiment, split_sentences, tag_entity_mentions

    corpus = build_demo_corpus(build_company_master(), n_documents=n_documents, seed=7)
    agree = total = signed_agree = signed_total = 0
    examples: list[tuple[str, str, str]] = []
    for document in corpus.documents:
        if document.doc_type not in ("news", "report"):
            continue
        planted = document.planted["sentiment"]["polarity"]
        aliases = {e["ticker"]: e["mentions"] for e in document.planted["entities"]}
        sentences = [s for s in split_sentences(document.text) if 20 <= len(s) <= 400]
        tagged = [t for t in tag_entity_mentions(sentences, aliases) if document.ticker in t.entities]
        if not tagged:
            continue
        results = classifier.predict([t.text for t in tagged])
        aggregate = aggregate_entity_sentiment(tagged, results)[document.ticker]
        total += 1
        agree += aggregate.label == planted
        if planted != "neutral":  # the tone the document was written with, against the sign of the mean
            signed_total += 1
            signed_agree += (aggregate.mean_score > 0) == (planted == "positive")
        for t, r in zip(tagged, results, strict=True):
            if (len(examples) < 12 and r.label != "neutral") or len(examples) < 4:
                examples.append((r.label, f"{r.score:+.2f}", t.text[:150]))
    print(
        f"== demo world: {total} news/report documents about a company; its entity label equals the planted "
        f"tone in {agree}/{total}; for the {signed_total} with a non-neutral planted tone the sign of the "
        f"entity's mean score agrees in {signed_agree}/{signed_total} =="
    )
    for label, value, text in examples[:12]:
        print(f"  {label:8} {value}  {text}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-data", type=Path, default=shared_data_default())
    parser.add_argument("--models-dir", type=Path, default=None, help="where active.json is (ARGUS_MODELS_DIR)")
    parser.add_argument("--model-dir", type=Path, default=None, help="a saved classifier directory")
    parser.add_argument(
        "--extra-model-dir",
        type=Path,
        action="append",
        default=[],
        help="another saved classifier (another seed): adds a seed-ensemble row",
    )
    parser.add_argument("--train", action="store_true", help="fine-tune a new classifier here")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("ARGUS_TORCH_THREADS", "1")))
    parser.add_argument("--demo-docs", type=int, default=120, help="demo corpus size for the sanity check, 0 skips")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    pin_threads(args.threads)
    from pipelines.sentiment.data import LABELS, load_tweet_split, validation_split
    from pipelines.sentiment.lexicons import FinVaderLexicon, LoughranMcDonaldLexicon
    from pipelines.sentiment.probe import LinearProbe

    split = load_tweet_split(args.shared_data)
    print("== split ==")
    print(split.description.describe())
    fit_rows, validation_rows = validation_split(split.train)
    print(f"validation for early stopping / probe C: {len(validation_rows)} rows carved from the training side")
    print()

    rows: list[list[Any]] = []
    results: dict[str, dict[str, Any]] = {}
    for lexicon in (LoughranMcDonaldLexicon(), FinVaderLexicon()):
        started = time.perf_counter()
        lexicon.setup()
        setup_seconds = time.perf_counter() - started
        results[lexicon.name], seconds = score(lexicon, split.held_out)
        rows.append([lexicon.name, results[lexicon.name], f"load {setup_seconds:.1f}", seconds])

    from pipelines.sentiment.classifier import SentimentClassifier, softmax_rows
    from pipelines.sentiment.metrics import classification_metrics

    gold = [r.label for r in split.held_out]
    probe = LinearProbe(threads=args.threads).fit(fit_rows, validation_rows)
    started = time.perf_counter()
    probe_probabilities = [
        [r.probabilities[label] for label in LABELS] for r in probe.predict([r.text for r in split.held_out])
    ]
    probe_seconds = time.perf_counter() - started
    results["probe"] = classification_metrics(gold, label_rows(probe_probabilities))
    rows.append([f"probe:minilm-logreg {probe.chosen}", results["probe"], f"{probe.seconds:.0f}", probe_seconds])

    classifier, metrics, origin = fine_tuned_classifier(args, split, args.threads)
    extras = [
        SentimentClassifier(path, model_label=f"fine-tuned:{path.name}", threads=args.threads)
        for path in args.extra_model_dir
    ]
    (logits, *extra_logits), (seconds, *extra_seconds) = fine_tuned_rows([classifier, *extras], split.held_out)
    bias = classifier.logit_bias
    fine_tuned = softmax_rows(logits, bias)
    results["fine-tuned"] = classification_metrics(gold, label_rows(fine_tuned))
    train_seconds = metrics.get("train_seconds", 0.0)
    trained = f"{train_seconds:.0f} (threads {metrics.get('threads')})"
    rows.append(
        [
            f"fine-tuned MiniLM (steps {metrics.get('steps')}, best {metrics.get('best_step')}, "
            f"logit bias {[round(b, 2) for b in bias] if bias else None})",
            results["fine-tuned"],
            trained,
            seconds,
        ]
    )
    if bias:
        results["fine-tuned, no bias"] = classification_metrics(gold, label_rows(softmax_rows(logits)))
        rows.append(["fine-tuned MiniLM without its logit bias", results["fine-tuned, no bias"], trained, seconds])
    mixed = [
        [(a + b) / 2 for a, b in zip(f, p, strict=True)] for f, p in zip(fine_tuned, probe_probabilities, strict=True)
    ]
    results["fine-tuned + probe"] = classification_metrics(gold, label_rows(mixed))
    rows.append(
        [
            "ensemble: fine-tuned + probe (mean probabilities)",
            results["fine-tuned + probe"],
            "",
            seconds + probe_seconds,
        ]
    )
    if extras:
        members = [logits, *extra_logits]
        mean_logits = [
            [sum(values) / len(values) for values in zip(*row, strict=True)] for row in zip(*members, strict=True)
        ]
        results["seed ensemble"] = classification_metrics(gold, label_rows(softmax_rows(mean_logits, bias)))
        rows.append(
            [
                f"ensemble: {len(members)} fine-tuned seeds (mean logits, first one's bias)",
                results["seed ensemble"],
                "",
                seconds + sum(extra_seconds),
            ]
        )

    baseline = results["lexicon:finvader"]["macro_f1"]
    print_table(
        ["model", "accuracy", "macro-F1", "F1 neg", "F1 neu", "F1 pos", "vs FinVADER", "train s", "predict s"],
        [
            [
                name,
                m["accuracy"],
                m["macro_f1"],
                m["per_class"]["negative"]["f1"],
                m["per_class"]["neutral"]["f1"],
                m["per_class"]["positive"]["f1"],
                f"{m['macro_f1'] / baseline:.2f}x",
                train,
                predict,
            ]
            for name, m, train, predict in rows
        ],
        title=f"held-out tweets (n={len(split.held_out)}); fine-tuned model: {origin}",
    )
    print_thread_settings()
    if args.demo_docs:
        print()
        demo_world_check(classifier, args.demo_docs)


if __name__ == "__main__":
    main()
