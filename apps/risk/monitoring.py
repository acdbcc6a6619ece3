"""Risk monitoring: new articles through the pipelines, companies scored per day, watchlists evaluated.

One monitoring run (a RISK_SCAN job, see ``apps.risk.tasks``) does three steps, each idempotent:

1. ``articles_process``: entities (``pipelines.entities``), sentence sentiment (``pipelines.sentiment``),
   risk events (``pipelines.risk.events``, and the item code of an 8-K) and stated relations
   (``pipelines.risk.graph``) of each new first-of-story article. A syndicated copy is never
   processed: one story counts once. Every NER and sentiment call goes through the audit helper.
2. ``risk_scores_compute``: ``pipelines.risk.scoring`` over the stored sentences of the window
   before ``as_of``; one audited SCORE record per day scored; one ``RiskScore`` row per company and
   day, overwritten by a re-run. Contributions and leave-one-out counterfactuals come from the
   scoring code itself.
3. ``watchlists_evaluate``: each watchlist's thresholds with hysteresis (``pipelines.risk.alerts``);
   an alert per company, level and dominant story: a story that already alerted (even if since
   resolved) does not alert again.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Min, Q

from apps.audit.models import InferenceKind
from apps.audit.services import Actor, audited
from apps.research.selectors import company_ids_by_ticker, company_records
from apps.risk.analysis import article_analysis_store, article_mark_failed, relation_edge_record, risk_score_store
from apps.risk.models import Alert, Article, ArticleStatus, RiskEvent, RiskScore, Watchlist
from apps.risk.selectors import alert_current_level
from apps.risk.services import alert_raise
from pipelines.entities import AnalysedText, EntityLinker
from pipelines.risk.alerts import AlertLevel, AlertThresholds, evaluate_alert
from pipelines.risk.events import EventHit, EventType, Severity, detect_events, events_from_8k_item
from pipelines.risk.graph import RelationType as GraphRelation
from pipelines.risk.graph import StatedRelation, extract_relations
from pipelines.risk.scoring import (
    COUNTERFACTUAL_MIN_SCORE,
    DEFAULT_CONFIG,
    RiskInputs,
    ScoreBreakdown,
    score_universe,
    top_article_counterfactuals,
)
from pipelines.risk.signals import EntityMention, SentenceSignal, sentence_signals
from pipelines.sentiment import SentimentResult, active_model_label, classify_with_scores

logger = logging.getLogger(__name__)

SCORING_MODEL = "argus-risk-score"
SCORING_VERSION = "1"
# Sentences older than this before as_of cannot move a score (recent + baseline windows of the config).
WINDOW_DAYS = DEFAULT_CONFIG.recent_days + DEFAULT_CONFIG.baseline_days + 1

SEVERITY_NAMES = {Severity.LOW: "low", Severity.MEDIUM: "medium", Severity.HIGH: "high", Severity.CRITICAL: "critical"}
GRAPH_TO_MODEL_RELATION = {
    GraphRelation.SUPPLIES: "supplier",
    GraphRelation.SUBSIDIARY_OF: "subsidiary",
    GraphRelation.PARTNER: "partner",
    GraphRelation.CO_MENTION: "co_mention",
}

_linker_lock = threading.Lock()
_linker_cache: dict[str, EntityLinker] = {}


def entity_linker() -> EntityLinker:
    """The linker over today's company master, built once per process and master version."""
    records = company_records()
    key = "|".join(f"{r.ticker}:{r.name}:{','.join(r.aliases)}" for r in records)
    with _linker_lock:
        linker = _linker_cache.get(key)
        if linker is None:
            _linker_cache.clear()
            linker = _linker_cache[key] = EntityLinker(records)
        return linker


@dataclass
class ProcessingSummary:
    processed: int = 0
    failed: int = 0
    events: int = 0
    edges: int = 0
    companies: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "failed": self.failed,
            "events": self.events,
            "edges": self.edges,
            "companies": sorted(self.companies),
            "first_day": min(self.days).isoformat() if self.days else None,
            "last_day": max(self.days).isoformat() if self.days else None,
        }


def _article_text(article: Article) -> str:
    title = article.title.strip()
    if title and title[-1] not in ".!?:":
        title += "."
    return f"{title}\n\n{article.body.strip()}" if article.body.strip() else title


def _signals_for(
    article: Article, analysed: AnalysedText, sentiments: Sequence[SentimentResult]
) -> list[SentenceSignal]:
    return sentence_signals(
        article_id=str(article.pk),
        published_at=article.published_at,
        sentences=analysed.sentences,
        mentions=analysed.mentions,
        sentiments=sentiments,
        filer=str(article.metadata.get("ticker") or "").upper(),
    )


def _filing_events(article: Article, signals: Sequence[SentenceSignal], ticker: str) -> list[EventHit]:
    """An 8-K item's code says what happened, whatever its prose: the filer's event."""
    code = str(article.metadata.get("item_code") or "")
    if not code or not ticker:
        return []
    text = " ".join(s.text for s in signals)
    return events_from_8k_item(
        code, text, article_id=str(article.pk), published_at=article.published_at, tickers=(ticker,)
    )


def _event_dict(hit: EventHit, company_id: int, source: str) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "event_type": str(hit.event_type),
        "severity": SEVERITY_NAMES[Severity(hit.severity)],
        "sentence_index": hit.sentence_index,
        "evidence_text": hit.evidence_text or hit.trigger_text,
        "confidence": hit.confidence,
        "source": source,
    }


def articles_process(
    *,
    article_ids: Sequence[Any],
    actor: Actor,
    job_id: Any = None,
    task_id: str = "",
    linker: EntityLinker | None = None,
) -> ProcessingSummary:
    """Run new first-of-story articles through entities, sentiment, events and relations, and store it all.

    Already processed articles and syndicated copies are skipped, so a re-run changes nothing.
    """
    summary = ProcessingSummary()
    articles = list(
        Article.objects.filter(pk__in=list(article_ids), status=ArticleStatus.NEW, duplicate_of__isnull=True).order_by(
            "published_at"
        )
    )
    if not articles:
        return summary
    linker = linker or entity_linker()
    texts = [_article_text(a) for a in articles]
    with audited(
        kind=InferenceKind.NER,
        actor=actor,
        model_name=linker.model_name,
        model_version=linker.model_version,
        parameters=linker.parameters(),
        model_input=texts,
        input_redacted="\n---\n".join(t[:300] for t in texts)[:4000],
        job_id=job_id,
        task_id=task_id,
    ) as call:
        analysed = linker.analyse(texts)
        call.output = [[(m.start, m.end, m.label, m.ticker) for m in a.mentions] for a in analysed]
        call.details = {"articles": [str(a.pk) for a in articles], "mentions": sum(len(a.mentions) for a in analysed)}
    sentences = [s.text for a in analysed for s in a.sentences]
    sentiment_model = active_model_label()
    with audited(
        kind=InferenceKind.SENTIMENT,
        actor=actor,
        model_name=sentiment_model,
        parameters={"level": "sentence"},
        model_input=sentences,
        input_redacted="\n".join(s[:200] for s in sentences)[:4000],
        job_id=job_id,
        task_id=task_id,
    ) as call:
        results = classify_with_scores(sentences) if sentences else []
        call.output = [(r.label, round(r.score, 6)) for r in results]
        call.details = {"sentences": len(sentences), "model": sentiment_model}

    companies = company_ids_by_ticker(
        {m.ticker for a in analysed for m in a.mentions if m.ticker} | _filer_tickers(articles)
    )
    offset = 0
    for article, text_analysis in zip(articles, analysed, strict=True):
        count = len(text_analysis.sentences)
        sentiments, offset = results[offset : offset + count], offset + count
        try:
            _store_article(article, text_analysis, sentiments, companies, sentiment_model, linker, summary)
        except Exception as exc:  # one bad article must not stop the batch
            logger.exception("risk article processing failed", extra={"article_id": str(article.pk)})
            article_mark_failed(article_id=article.pk, error=f"{type(exc).__name__}: {exc}")
            summary.failed += 1
    return summary


def _filer_tickers(articles: Iterable[Article]) -> set[str]:
    return {str(a.metadata["ticker"]).upper() for a in articles if a.metadata.get("ticker")}


def _store_article(
    article: Article,
    analysed: AnalysedText,
    sentiments: Sequence[SentimentResult],
    companies: dict[str, int],
    sentiment_model: str,
    linker: EntityLinker,
    summary: ProcessingSummary,
) -> None:
    signals = _signals_for(article, analysed, sentiments)
    hits = [hit for signal in signals if signal.tickers for hit in detect_events(signal)]
    filer = str(article.metadata.get("ticker") or "").upper()
    filing_hits = _filing_events(article, signals, filer if filer in companies else "")
    relations = [rel for signal in signals if len(signal.tickers) > 1 for rel in extract_relations(signal)]

    per_company: dict[str, list[SentenceSignal]] = defaultdict(list)
    for signal in signals:
        for ticker in signal.tickers:
            per_company[ticker].append(signal)
    mentions = []
    for ticker in set(per_company) | ({filer} if filing_hits else set()):
        if ticker not in companies:
            continue
        own = per_company.get(ticker, [])
        mean = sum(s.sentiment_score for s in own) / len(own) if own else 0.0
        mentions.append(
            {
                "company_id": companies[ticker],
                "mention_count": sum(len([m for m in s.mentions if m.ticker == ticker]) for s in own) or 1,
                "sentiment_score": round(mean, 6),
                "sentiment_label": "negative" if mean <= -0.2 else "positive" if mean >= 0.2 else "neutral",
            }
        )
    events = [
        _event_dict(hit, companies[ticker], "text") for hit in hits for ticker in hit.tickers if ticker in companies
    ] + [_event_dict(hit, companies[filer], f"8-K {article.metadata.get('item_code')}") for hit in filing_hits]
    analysis = {
        "sentences": [
            {
                "index": s.sentence_index,
                "text": s.text,
                "tickers": list(s.tickers),
                "mentions": [[m.ticker, m.start, m.end] for m in s.mentions],
                "sentiment_label": s.sentiment_label,
                "sentiment_score": s.sentiment_score,
            }
            for s in signals
        ],
        "mentions": [
            {
                "text": m.text,
                "label": m.label,
                "start": m.start,
                "end": m.end,
                "sentence_index": m.sentence_index,
                "ticker": m.ticker,
                "link_method": m.link_method,
                "link_score": m.link_score,
            }
            for m in analysed.mentions
        ],
        "candidates": [
            {
                "text": c.mention.text,
                "sentence_index": c.mention.sentence_index,
                "best_ticker": c.best_ticker,
                "best_score": c.best_score,
            }
            for c in analysed.candidates
        ],
        "events": [
            {
                "event_type": str(h.event_type),
                "severity": SEVERITY_NAMES[Severity(h.severity)],
                "sentence_index": h.sentence_index,
                "trigger_text": h.trigger_text,
                "confidence": h.confidence,
                "tickers": list(h.tickers),
                "source": source,
            }
            for source, found in (("text", hits), ("8-K", filing_hits))
            for h in found
        ],
        "relations": [
            {
                "source": r.source,
                "target": r.target,
                "relation": str(r.relation),
                "sentence_index": r.sentence_index,
                "evidence_text": r.evidence_text,
            }
            for r in relations
        ],
        "models": {"ner": linker.model_version, "sentiment": sentiment_model},
    }
    article_analysis_store(article_id=article.pk, analysis=analysis, mentions=mentions, events=events)
    for relation in relations:
        if relation.source in companies and relation.target in companies:
            relation_edge_record(
                source_id=companies[relation.source],
                target_id=companies[relation.target],
                relation=GRAPH_TO_MODEL_RELATION[relation.relation],
                seen_at=article.published_at,
                article_id=article.pk,
            )
            summary.edges += 1
    for signal in signals:
        linked = [t for t in signal.tickers if t in companies]
        for i, first in enumerate(linked):
            for second in linked[i + 1 :]:
                relation_edge_record(
                    source_id=companies[first],
                    target_id=companies[second],
                    relation="co_mention",
                    seen_at=article.published_at,
                    article_id=article.pk,
                    weight=0.25,
                )
    summary.processed += 1
    summary.events += len(events)
    summary.companies.update(m for m in per_company if m in companies)
    summary.days.add(article.published_at.date())


# --- scoring -------------------------------------------------------------------------------------


def _as_of_moment(as_of: date) -> datetime:
    return datetime.combine(as_of, time.max, tzinfo=UTC)


def risk_inputs_for(as_of: date) -> RiskInputs:
    """Every stored sentence, filing event and stated relation that can move a score on ``as_of``."""
    end = _as_of_moment(as_of)
    start = end - timedelta(days=WINDOW_DAYS)
    articles = Article.objects.filter(
        status=ArticleStatus.PROCESSED, duplicate_of__isnull=True, published_at__gt=start, published_at__lte=end
    ).only("id", "published_at", "analysis")
    signals: list[SentenceSignal] = []
    relations: list[StatedRelation] = []
    for article in articles.iterator(chunk_size=500):
        article_id = str(article.pk)
        for sentence in article.analysis.get("sentences", []):
            if not sentence.get("tickers"):
                continue
            signals.append(
                SentenceSignal(
                    article_id=article_id,
                    published_at=article.published_at,
                    sentence_index=int(sentence["index"]),
                    text=sentence["text"],
                    tickers=tuple(sentence["tickers"]),
                    sentiment_score=float(sentence.get("sentiment_score", 0.0)),
                    sentiment_label=sentence.get("sentiment_label", "neutral"),
                    mentions=tuple(EntityMention(t, int(s), int(e)) for t, s, e in sentence.get("mentions", [])),
                )
            )
    events = [
        EventHit(
            event_type=EventType(e.event_type),
            severity=Severity[e.severity.upper()],  # as stored: a departure's depends on who left
            trigger_text=e.source,
            sentence_index=e.sentence_index or 0,
            confidence=e.confidence,
            tickers=(e.company.ticker,),
            article_id=str(e.article_id),
            published_at=e.occurred_at,
            evidence_text=e.evidence_text,
        )
        for e in RiskEvent.objects.filter(
            Q(source__startswith="8-K"), occurred_at__gt=start, occurred_at__lte=end
        ).select_related("company")
        if e.event_type in EventType._value2member_map_
    ]
    return RiskInputs(signals=tuple(signals), events=tuple(events), relations=tuple(relations))


@dataclass
class ScoringSummary:
    as_of: date
    scored: int = 0
    alerts_raised: int = 0
    alerts_escalated: int = 0
    inference_record_seq: int | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data.pop("scores")
        return data


def _contribution_dict(contribution: Any) -> dict[str, Any]:
    return {
        "kind": str(contribution.kind),
        "amount": contribution.amount,
        "article_id": contribution.article_id,
        "sentence_index": contribution.sentence_index,
        "evidence_text": contribution.evidence_text,
        "event_type": str(contribution.event_type) if contribution.event_type is not None else None,
        "neighbour": contribution.neighbour,
        "detail": contribution.detail,
    }


def counterfactuals_for(breakdown: ScoreBreakdown, *, min_score: float = COUNTERFACTUAL_MIN_SCORE) -> dict[str, float]:
    """Exact leave-one-out scores for the articles that move ``breakdown`` most."""
    return {
        article: round(score, 6)
        for article, score in top_article_counterfactuals(breakdown, min_score=min_score).items()
    }


def counterfactual_min_score() -> float:
    """Scores that can raise an alert get their counterfactuals: the lowest watch threshold in use, if lower."""
    lowest_watch = Watchlist.objects.aggregate(lowest=Min("watch_threshold"))["lowest"]
    return min(COUNTERFACTUAL_MIN_SCORE, lowest_watch) if lowest_watch is not None else COUNTERFACTUAL_MIN_SCORE


def _default_level(score: float) -> str:
    thresholds = AlertThresholds()
    for level in (AlertLevel.CRITICAL, AlertLevel.WARNING, AlertLevel.WATCH):
        if score >= thresholds.threshold(level):
            return level.name.lower()
    return "none"


def risk_scores_compute(
    *,
    as_of: date,
    actor: Actor,
    job_id: Any = None,
    task_id: str = "",
    inputs: RiskInputs | None = None,
    evaluate_watchlists: bool = True,
) -> ScoringSummary:
    """Score every company with evidence in the window (and every watched company) on ``as_of``."""
    inputs = inputs if inputs is not None else risk_inputs_for(as_of)
    summary = ScoringSummary(as_of=as_of)
    with audited(
        kind=InferenceKind.SCORE,
        actor=actor,
        model_name=SCORING_MODEL,
        model_version=SCORING_VERSION,
        parameters={"as_of": as_of.isoformat(), "config": {k: v for k, v in asdict(DEFAULT_CONFIG).items()}},
        model_input=[(s.article_id, s.sentence_index, s.sentiment_score, s.tickers) for s in inputs.signals],
        job_id=job_id,
        task_id=task_id,
    ) as call:
        breakdowns = score_universe(inputs, as_of)
        min_score = counterfactual_min_score()
        counterfactuals = {ticker: counterfactuals_for(b, min_score=min_score) for ticker, b in breakdowns.items()}
        call.output = {t: b.score for t, b in sorted(breakdowns.items())}
        call.details = {"companies": len(breakdowns), "signals": len(inputs.signals), "events": len(inputs.events)}
    seq = call.record.seq if call.record is not None else None
    summary.inference_record_seq = seq
    watched = set(Watchlist.objects.values_list("companies__ticker", flat=True)) - {None}
    companies = company_ids_by_ticker(set(breakdowns) | watched)
    rows: dict[str, RiskScore] = {}
    for ticker, company_id in sorted(companies.items()):
        breakdown = breakdowns.get(ticker)
        score = breakdown.score if breakdown else 0.0
        components = breakdown.components if breakdown else {}
        rows[ticker], _ = risk_score_store(
            company_id=company_id,
            as_of=as_of,
            score=score,
            level=_default_level(score),
            components=[_contribution_dict(c) for c in breakdown.contributions] if breakdown else [],
            counterfactuals=counterfactuals.get(ticker, {}),
            sentiment_level=components.get("sentiment_level", 0.0),
            sentiment_shift=components.get("sentiment_shift", 0.0),
            event_subtotal=components.get("event", 0.0),
            sentiment_subtotal=components.get("sentiment_level", 0.0) + components.get("sentiment_shift", 0.0),
            volume_subtotal=components.get("volume", 0.0),
            neighbour_subtotal=components.get("neighbour", 0.0),
            article_count=len(breakdown.article_ids) if breakdown else 0,
            model_version=f"{SCORING_MODEL}@{SCORING_VERSION}",
            job_id=job_id,
            inference_record_seq=seq,
        )
        summary.scores[ticker] = score
        summary.scored += 1
    if evaluate_watchlists:
        raised, escalated = watchlists_evaluate(breakdowns=breakdowns, score_rows=rows, as_of=as_of)
        summary.alerts_raised, summary.alerts_escalated = raised, escalated
    return summary


def watchlists_evaluate(
    *, breakdowns: dict[str, ScoreBreakdown], score_rows: dict[str, RiskScore], as_of: date
) -> tuple[int, int]:
    """Raise or escalate alerts where a watched company's score crossed its watchlist's thresholds.

    ``score_rows`` are the day's stored scores by ticker: an alert points at its row and snapshots its components.
    """
    raised = escalated = 0
    for watchlist in Watchlist.objects.prefetch_related("companies"):
        thresholds = AlertThresholds(
            watch=watchlist.watch_threshold,
            warning=watchlist.warning_threshold,
            critical=watchlist.critical_threshold,
            hysteresis=watchlist.hysteresis,
        )
        for company in watchlist.companies.all():
            breakdown = breakdowns.get(company.ticker)
            if breakdown is None:
                continue
            previous = AlertLevel[alert_current_level(watchlist=watchlist, company=company).upper()]
            sent = set(Alert.objects.filter(watchlist=watchlist, company=company).values_list("dedup_key", flat=True))
            decision = evaluate_alert(breakdown, previous, thresholds, sent_keys=sent)
            if decision.dedup_key is None:
                continue
            row = score_rows[company.ticker]
            _, outcome = alert_raise(
                watchlist=watchlist,
                company=company,
                level=decision.level.name.lower(),
                score=breakdown.score,
                dedup_key=decision.dedup_key,
                attribution=row.components,
                risk_score=row,
                note=f"{as_of.isoformat()}: {decision.story}",
            )
            raised += outcome == "raised"
            escalated += outcome == "escalated"
    return raised, escalated


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
