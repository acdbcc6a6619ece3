"""Risk monitoring logic in plain Python: event detection, company graph, scores, alerts, backtests.

Inputs are small frozen dataclasses (:mod:`pipelines.risk.signals`) that the outputs of
``pipelines.entities`` (sentences, mentions linked to tickers) and ``pipelines.sentiment``
(a label and a score in [-1, 1] per sentence) map onto one to one. Nothing here imports Django
or loads a model; ``apps.risk`` calls these functions and stores their results.
"""
