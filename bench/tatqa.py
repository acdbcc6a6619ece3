"""Computed figures on TAT-QA dev: exact match and numeracy-focused F1, as the official script scores them.

Data: ``$ARGUS_SHARED_DATA/tatqa_dev/tatqa_dataset_dev.json`` (TAT-QA, Zhu et al., ACL 2021;
CC BY 4.0 data, MIT code), read in place.

Metric: a re-implementation of the official evaluator (NExTplusplus/TAT-QA ``tatqa_eval.py``,
``tatqa_metric.py`` and ``tatqa_utils.py``), behaviour for behaviour:

* Each side (gold and prediction) becomes ONE string: its answers sorted, numbers rewritten as
  ``'%.4f' % (round(x, 2) * scale)`` with thousand=1e3, million=1e6, billion=1e9, percent=0.01 (a number
  written with "%" is already divided by 100 and is not scaled again), non-numbers get " <scale>" appended.
  A number is read as the first figure of the text with ``' " \\ $ € £ ¥ % ( ) , [ ]`` removed, negated when
  written in parentheses (the official pattern has no comma: "(5,062)" reads as +5062, "(119)" as -119;
  kept), times a scale word that follows it ("1.2 million").
* A single unscaled numeric prediction is also tried as a plain number (the "add_percent_pred" rule).
* normalize_answer: lower-case, split on single spaces, strip punctuation from non-numbers, numbers
  rewritten as above, drop a/an/the, collapse whitespace.
* EM: the normalised strings are equal. F1: bag-of-words F1 over the aligned answers, rounded to 2
  places. For arithmetic and count questions F1 is EM. Since the scale is part of each string, a right
  number with the wrong scale scores 0.
* A question without a prediction scores 0 (it still counts in the denominator).

Split: the dev tables are split by ``sha256(table uid)``: even -> ``tune`` half, odd -> ``heldout`` half.
Rules were tuned only on the tune half; the held-out half is the honest figure.

Settings (``pipelines.figures.answer_question``): ``rules`` is the figure rules alone (they abstain when the
operands are ambiguous); ``strict`` adds the readers (row-label lists, a sentence span, a table cell) when
they are confident, as the ask path does; ``relaxed`` also retries computations leniently and answers
every question with its best guess, since an unanswered question scores 0 here. Report all three.

Anchor: TAGOP (Zhu et al. 2021) scores 50.1 EM / 58.0 F1 on TAT-QA test (55.2 / 62.7 on dev).

    .venv/bin/python -m bench.tatqa --split heldout                      # the bench setting (relaxed)
    .venv/bin/python -m bench.tatqa --split heldout --confidence strict  # what the ask path would answer
    .venv/bin/python -m bench.tatqa --split tune --show-misses 40
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import string
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT
from pipelines.figures import (
    RELAXED_CONFIDENCE,
    STRICT_CONFIDENCE,
    FigureAnswer,
    answer_question,
    table_from_json,
)
from pipelines.figures.numbers import parse_number

DEV_FILE = Path("tatqa_dev") / "tatqa_dataset_dev.json"
TAGOP_TEST = (50.1, 58.0)
TAGOP_DEV = (55.2, 62.7)


# ----------------------------------------------------------------------------------------------
# Official metric, re-implemented (see the module docstring for the rules and their source).
# ----------------------------------------------------------------------------------------------
_NUMBER_JUNK = set("'\"\\$€£¥%(),[]")
_PUNCTUATION = set(string.punctuation)
_SCALE_VALUE = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "percent": 0.01}


def _scale_factor(word: str) -> float:
    word = word.lower()
    for name in ("hundred", "thousand", "million", "billion", "percent"):  # the official order of tests
        if name in word:
            return _SCALE_VALUE[name]
    return 1


def _without_number_junk(text: str) -> str:
    return "".join(ch for ch in str(text) if ch not in _NUMBER_JUNK)


def _looks_numeric(text: str) -> bool:
    words = " ".join(_without_number_junk(w) for w in text.split()).split()
    if not words:
        return False
    try:
        number = float(words[0])
    except ValueError:
        return False
    if number != number:  # NaN
        return False
    return not (len(words) >= 2 and _scale_factor(words[1]) == 1)


def _read_number(text: str) -> float | None:
    found = re.findall(r"([+-]?\d+(\.\d+)?)|([+-]?\.\d+)", _without_number_junk(text))
    if not found or found[0][0] == "":
        return None
    first = found[0][0]
    number: float = float(first) if "." in first else int(first)
    scale_word = next(re.finditer(r"([\d.]+\s?[a-zA-Z]+)", text), None)
    factor = _scale_factor(scale_word.group(0)) if scale_word else 1
    sign = -1 if re.findall(r"(\([\d.\s]+\))", text.strip()) else 1
    percent = 0.01 if re.findall(r"([\d.\s]+%)", text.strip()) else 1
    return round(number * factor * sign * percent, 4)


def _normalise(text: str) -> str:
    parts = []
    for token in text.split(" "):
        token = token.lower()
        if not _looks_numeric(token):
            token = "".join(ch for ch in token if ch not in _PUNCTUATION)
        if _looks_numeric(token):
            token = str(_read_number(token))
        token = " ".join(re.sub(r"\b(a|an|the)\b", " ", token).split())
        if token.strip():
            parts.append(token)
    return " ".join(parts).strip()


def _answer_string(answers: list[Any], scale: str) -> str:
    rendered = []
    for answer in sorted(answers, key=str):
        text = str(answer)
        if _looks_numeric(text):
            number = _read_number(text)
            if number is None:
                text = f"{text} {scale}" if scale else text
            elif "%" in text:
                text = f"{number:.4f}"
            else:
                text = f"{round(number, 2) * _scale_factor(scale):.4f}"
        elif scale:
            text = f"{text} {scale}"
        rendered.append(text)
    return " ".join(rendered)


def _bag_f1(predicted: set[str], gold: set[str]) -> float:
    shared = len(gold & predicted)
    precision = shared / len(predicted) if predicted else 1.0
    recall = shared / len(gold) if gold else 1.0
    return 0.0 if precision == 0 and recall == 0 else 2 * precision * recall / (precision + recall)


def _em_f1(predicted: str, gold: str) -> tuple[float, float]:
    # Each side is one string here, so the official bag alignment reduces to one pair.
    p, g = _normalise(predicted), _normalise(gold)
    return float(p == g), round(_bag_f1(set(p.split()), set(g.split())), 2)


def official_score(question: dict[str, Any], prediction: Any, pred_scale: str) -> tuple[float, float]:
    """EM and F1 of one prediction for one TAT-QA question, as ``TaTQAEmAndF1.__call__`` computes them."""
    if prediction is None or prediction == "" or prediction == []:
        return 0.0, 0.0
    kind = question["answer_type"]
    gold_raw = question["answer"]
    if kind in {"span", "multi-span"}:
        gold = list(gold_raw)
    elif kind == "count":
        gold = [str(int(gold_raw))]
    else:
        gold = [str(gold_raw)]
    if not gold:
        return 0.0, 0.0
    gold_string = _answer_string(gold, question["scale"])
    predictions = prediction if isinstance(prediction, list) else [prediction]
    candidates = [_answer_string(predictions, pred_scale)]
    if (
        len(predictions) == 1
        and not pred_scale
        and "%" not in str(predictions[0])
        and _looks_numeric(str(predictions[0]))
    ):
        number = _read_number(str(predictions[0]))
        if number is not None:
            candidates.append(f"{number:.4f}")
    em, f1 = max(_em_f1(candidate, gold_string) for candidate in candidates)
    if kind in {"arithmetic", "count"}:
        f1 = em
    return em, f1


# ----------------------------------------------------------------------------------------------
# TAT-QA table -> the research table JSON (DocumentChunk.table)
# ----------------------------------------------------------------------------------------------
_YEARISH = re.compile(r"^\s*(?:19|20)\d{2}\s*$")


def _is_header_row(row: list[str]) -> bool:
    rest = [c.strip() for c in row[1:]]
    if not any(rest):
        return False  # a heading row ("Current assets:") is part of the body
    for cell in rest:
        if cell and parse_number(cell) is not None and not _YEARISH.match(cell) and not parse_number(cell).is_nil:
            return False
    return True


def tatqa_table_json(raw_rows: list[list[str]], paragraphs: list[str]) -> dict[str, Any]:
    """Header rows on top (periods spread over merged cells), the first column as row labels."""
    rows = [[str(c) for c in row] for row in raw_rows]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    header_rows: list[list[str]] = []
    titles: list[str] = []
    while rows and len(header_rows) < 4:
        caption = rows[0][0].strip() and not any(c.strip() for c in rows[0][1:])
        if caption and (not header_rows or _header_scale(rows[0][0])):
            # A caption over the header, or a scale line under it ("($ in millions)", "(In thousands)").
            titles.append(rows.pop(0)[0].strip())
        elif _is_header_row(rows[0]):
            header_rows.append(rows.pop(0))
        else:
            break
    headers = []
    for col in range(1, width):
        parts = []
        for header in header_rows:
            text = header[col].strip()
            if not text:
                # A merged cell ("2019" over "$" and "%") is printed once: carry a period to the right.
                left = next((header[j].strip() for j in range(col - 1, 0, -1) if header[j].strip()), "")
                text = left if re.search(r"(?:19|20)\d{2}", left) else ""
            if text and text not in parts:
                parts.append(text)
        headers.append(" ".join(parts))
    header_text = " ".join(" ".join(h) for h in header_rows) + " " + " ".join(titles)
    return {
        "title": " ".join(titles),
        "headers": header_rows,
        "columns": [{"header": h, "period": ""} for h in headers],
        "rows": [
            {"label": row[0].strip(), "cells": [{"col": j - 1, "text": row[j]} for j in range(1, width)]}
            for row in rows
        ],
        "scale": "" if header_text.strip() == "" else _header_scale(header_text),
        "unit": "",
        "context": " ".join(paragraphs),
    }


def _header_scale(text: str) -> str:
    from pipelines.figures.numbers import detect_scale

    return detect_scale(text)


# ----------------------------------------------------------------------------------------------
# Prediction and report
# ----------------------------------------------------------------------------------------------
def split_of(table_uid: str) -> str:
    return "tune" if int(hashlib.sha256(table_uid.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


def to_tatqa(answer: FigureAnswer) -> tuple[Any, str]:
    """A FigureAnswer as the (answer, scale) pair the TAT-QA evaluator reads."""
    if answer.kind == "count":
        return str(answer.value), ""
    if answer.kind in {"compare", "rank"}:
        return str(answer.value), ""
    if answer.kind == "periods":
        return list(answer.value), ""  # type: ignore[arg-type]
    if answer.kind == "span":
        return (list(answer.value) if isinstance(answer.value, list) else str(answer.value)), ""
    if answer.kind == "lookup" and answer.operands and answer.operands[0].row == -1:
        return answer.operands[0].text.rstrip(",.;"), ""  # a prose figure: the span as written
    scale = "percent" if answer.unit == "%" else answer.scale
    if answer.kind == "lookup":
        # A looked-up cell is answered as printed, as TAT-QA's span answers are (the scorer then reads
        # "(5,062)" the way it reads the gold's "(5,062)").
        texts = [o.text.strip() for o in answer.operands]
        return (texts if len(texts) > 1 else texts[0]), scale
    if isinstance(answer.value, list):
        return [_plain(v) for v in answer.value], scale
    assert isinstance(answer.value, Decimal)
    return _plain(answer.value), scale


def predict(
    block: dict[str, Any], question: dict[str, Any], min_confidence: float | None = RELAXED_CONFIDENCE
) -> FigureAnswer | None:
    data = tatqa_table_json(block["table"]["table"], [p["text"] for p in block["paragraphs"]])
    table = table_from_json(data, ref=block["table"]["uid"], context=data.pop("context"))
    prose = [(p["uid"], p["text"]) for p in block["paragraphs"]]
    return answer_question(question["question"], [table], prose, min_confidence)


def evaluate(
    blocks: list[dict[str, Any]], split: str, min_confidence: float | None = RELAXED_CONFIDENCE
) -> dict[str, Any]:
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])  # n, em, f1, answered
    misses = []
    for block in blocks:
        if split != "both" and split_of(block["table"]["uid"]) != split:
            continue
        for question in block["questions"]:
            answer = predict(block, question, min_confidence)
            prediction, scale = to_tatqa(answer) if answer is not None else (None, "")
            em, f1 = official_score(question, prediction, scale)
            for key in ("all", f"type:{question['answer_type']}", f"from:{question['answer_from']}"):
                bucket = totals[key]
                bucket[0] += 1
                bucket[1] += em
                bucket[2] += f1
                bucket[3] += answer is not None
            if answer is not None and em == 0:
                misses.append((question, prediction, scale, answer))
    return {"totals": dict(totals), "misses": misses}


def _print_report(split: str, result: dict[str, Any]) -> None:
    print(f"\n== TAT-QA dev, split={split} ==")
    print(f"{'slice':<22}{'n':>6}{'EM':>8}{'F1':>8}{'coverage':>10}{'EM|answered':>13}")
    order = ["all", *sorted(k for k in result["totals"] if k != "all")]
    for key in order:
        n, em, f1, answered = result["totals"][key]
        precision = em / answered if answered else 0.0
        print(
            f"{key:<22}{int(n):>6}{100 * em / n:>8.1f}{100 * f1 / n:>8.1f}{answered / n:>10.2f}{100 * precision:>13.1f}"
        )
    print(f"anchor TAGOP: test {TAGOP_TEST[0]} EM / {TAGOP_TEST[1]} F1; dev {TAGOP_DEV[0]} / {TAGOP_DEV[1]}")


def load_dev() -> list[dict[str, Any]]:
    root = Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
    path = root / DEV_FILE
    if not path.exists():
        raise SystemExit(f"TAT-QA dev not found at {path} (set ARGUS_SHARED_DATA)")
    return json.loads(path.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["tune", "heldout", "both"], default="tune")
    parser.add_argument("--show-misses", type=int, default=0, help="print this many wrong answers (tune split only)")
    parser.add_argument(
        "--confidence",
        choices=["relaxed", "strict", "rules"],
        default="relaxed",
        help="how sure the readers must be: relaxed (the bench: best guess), strict (the ask path), rules (no readers)",
    )
    args = parser.parse_args()
    min_confidence = {"relaxed": RELAXED_CONFIDENCE, "strict": STRICT_CONFIDENCE, "rules": None}[args.confidence]
    blocks = load_dev()
    splits = ["tune", "heldout"] if args.split == "both" else [args.split]
    for split in splits:
        result = evaluate(blocks, split, min_confidence)
        _print_report(f"{split}, confidence={args.confidence}", result)
        if args.show_misses and split == "tune":
            for question, prediction, scale, answer in result["misses"][: args.show_misses]:
                gold = f"{question['answer']!r} {question['scale']!r} ({question['derivation']})"
                pred = f"{prediction!r} {scale!r} [{answer.kind}] {answer.formula}"
                print(f"- {question['question']!r} gold={gold} | pred={pred}")


if __name__ == "__main__":
    main()
