"""The answer card shows sources that disagree, both cited, and why an answer was not attempted."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from django.template.loader import render_to_string

from apps.research.selectors import Answer, AnswerSentence, Citation, ConflictQuote, FigureConflict


def _card(answer: Answer) -> str:
    job = SimpleNamespace(pk=uuid.uuid4(), status="succeeded", is_finished=True, message="", progress=100)
    return render_to_string("research/_answer.html", {"answer_job": job, "answer": answer, "rows": []})


def test_conflict_is_shown_with_both_citations_and_the_trusted_source_marked() -> None:
    filing = Citation("c-filing", str(uuid.uuid4()), "Acme 10-K 2024", None, "Item 7")
    note = Citation("c-note", str(uuid.uuid4()), "Acme quick take", None, "")
    sentences = [AnswerSentence("Gross margin was 26.7% in fiscal 2024.", filing),
                 AnswerSentence("Gross margin was 88.8% in fiscal 2024.", note)]  # fmt: skip
    conflict = FigureConflict(
        "gross_profit",
        "2024",
        "c-filing",
        [ConflictQuote(s.text, s.citation, t, r, [f]) for s, t, r, f in zip(
            sentences, ("filing", "note"), (4, 2), ("26.7%", "88.8%"), strict=True)],
    )  # fmt: skip
    html = _card(Answer("What was the gross margin?", sentences, [], "extractive", False, [conflict]))
    assert 'data-testid="conflicts"' in html and "Sources disagree" in html
    assert html.count('data-testid="conflict-quote"') == 2
    assert 'data-chunk-id="c-filing"' in html and 'data-chunk-id="c-note"' in html
    assert html.count('data-preferred="true"') == 1 and "the more trusted source" in html


def test_abstained_answer_says_why_no_answer_was_attempted() -> None:
    abstention = {"sufficient": False, "reason": "best passage similarity 0.13 < 0.53"}
    html = _card(Answer("Who won the 1998 football world cup?", [], [], "abstained", True, [], abstention))
    assert 'data-testid="insufficient-evidence"' in html
    assert "best passage similarity 0.13 &lt; 0.53" in html and 'data-testid="conflicts"' not in html
