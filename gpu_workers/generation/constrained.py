"""Constrained decoding with xgrammar: JSON Schema, regex or a fixed set of choices.

Grammars are compiled once per tokenizer and cached by the constraint's hash; the
logits processor is per ``generate()`` call (its matchers keep state) and takes one
grammar per batch row, ``None`` for unconstrained rows, so one batch mixes both.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any


class ConstraintError(ValueError):
    """A constraint that cannot be compiled, or several constraints on one request."""


class ConstrainedOutputError(ValueError):
    """Constrained output that does not parse or validate (a truncated generation, usually)."""


def canonical_constraint(
    json_schema: dict[str, Any] | None = None, regex: str | None = None, choices: Sequence[str] | None = None
) -> str:
    """The canonical JSON text of a constraint ("" when unconstrained): what is hashed and compiled."""
    given = [(kind, value) for kind, value in (("json_schema", json_schema), ("regex", regex)) if value is not None]
    if choices is not None:
        if not choices or not all(isinstance(c, str) for c in choices):
            raise ConstraintError("choices must be a non-empty list of strings")
        given.append(("choices", list(choices)))
    if len(given) > 1:
        raise ConstraintError(f"give at most one of json_schema, regex, choices (got {', '.join(k for k, _ in given)})")
    if not given:
        return ""
    kind, value = given[0]
    return json.dumps({kind: value}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def constraint_hash(
    json_schema: dict[str, Any] | None = None, regex: str | None = None, choices: Sequence[str] | None = None
) -> str:
    """SHA-256 (hex) of the canonical constraint; "" when unconstrained. Recorded with every generation."""
    canonical = canonical_constraint(json_schema=json_schema, regex=regex, choices=choices)
    return hashlib.sha256(canonical.encode()).hexdigest() if canonical else ""


def choices_ebnf(choices: Sequence[str]) -> str:
    # JSON string literals are valid EBNF string literals in xgrammar (same escapes).
    return "root ::= " + " | ".join(json.dumps(choice, ensure_ascii=True) for choice in choices)


class GrammarCache:
    """Compiled grammars for one tokenizer, LRU by constraint hash. Thread-safe."""

    def __init__(self, tokenizer: Any, vocab_size: int, *, max_entries: int = 256) -> None:
        import xgrammar as xgr

        self.tokenizer_info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self.compiler = xgr.GrammarCompiler(self.tokenizer_info)
        self.vocab_size = vocab_size
        self.max_entries = max_entries
        self._grammars: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.compilations = 0

    def get(
        self,
        json_schema: dict[str, Any] | None = None,
        regex: str | None = None,
        choices: Sequence[str] | None = None,
    ) -> Any | None:
        """The compiled grammar of a constraint, or None when there is none."""
        key = constraint_hash(json_schema=json_schema, regex=regex, choices=choices)
        if not key:
            return None
        with self._lock:
            if key in self._grammars:
                self._grammars.move_to_end(key)
                return self._grammars[key]
        # Compiling takes 0.1-1.3 s; outside the lock so other constraints are not held up
        # (two threads compiling the same schema at once is harmless, one result wins).
        compiled = self._compile(json_schema, regex, choices)
        with self._lock:
            self._grammars[key] = compiled
            self._grammars.move_to_end(key)
            self.compilations += 1
            while len(self._grammars) > self.max_entries:
                self._grammars.popitem(last=False)
        return compiled

    def _compile(self, json_schema: dict[str, Any] | None, regex: str | None, choices: Sequence[str] | None) -> Any:
        import xgrammar as xgr

        try:
            if json_schema is not None:
                # any_whitespace=False: small models otherwise emit whitespace until max_new_tokens.
                return self.compiler.compile_json_schema(json.dumps(json_schema), any_whitespace=False)
            if regex is not None:
                return self.compiler.compile_regex(regex)
            return self.compiler.compile_grammar(xgr.Grammar.from_ebnf(choices_ebnf(choices or [])))
        except (RuntimeError, ValueError, TypeError) as exc:
            # Seen with xgrammar 0.2.8: a pattern repetition bound above 128 ({20,200}) fails an
            # internal check instead of compiling; say so, the raw message does not.
            hint = " (xgrammar 0.2.8 rejects pattern repetition bounds above 128)" if "fsm_hashes" in str(exc) else ""
            raise ConstraintError(f"cannot compile constraint{hint}: {exc}") from exc

    def __len__(self) -> int:
        return len(self._grammars)


def grammar_logits_processor(grammars: Sequence[Any | None]) -> Any:
    """A fresh logits processor for one ``generate()`` call: row i follows ``grammars[i]`` (None = free)."""
    import torch
    import transformers
    import xgrammar as xgr

    class GrammarLogitsProcessor(transformers.LogitsProcessor):
        # xgrammar.contrib.hf.LogitsProcessor takes one grammar per row but no free rows,
        # hence this variant: matchers only for constrained rows, the mask applied to those.
        def __init__(self) -> None:
            self.rows = [i for i, grammar in enumerate(grammars) if grammar is not None]
            self.matchers = {i: xgr.GrammarMatcher(grammars[i]) for i in self.rows}
            vocab_size = grammars[self.rows[0]].tokenizer_info.vocab_size if self.rows else 0
            self.bitmask = xgr.allocate_token_bitmask(len(grammars), vocab_size) if self.rows else None
            self.started = False

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            if input_ids.shape[0] != len(grammars):
                raise RuntimeError(f"batch of {input_ids.shape[0]} rows for {len(grammars)} grammars")
            if not self.rows:
                return scores
            if self.started:
                for i in self.rows:
                    matcher = self.matchers[i]
                    if not matcher.is_terminated() and not matcher.accept_token(int(input_ids[i, -1])):
                        raise RuntimeError(f"row {i}: the grammar rejected a token it allowed")
            self.started = True
            active = [i for i in self.rows if not self.matchers[i].is_terminated()]
            for i in active:
                self.matchers[i].fill_next_token_bitmask(self.bitmask, i)
            if active:
                if scores.device.type in ("cpu", "cuda"):
                    xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device), indices=active)
                else:  # xgrammar masks on CPU or CUDA only
                    masked = scores.cpu()
                    xgr.apply_token_bitmask_inplace(masked, self.bitmask, indices=active)
                    scores = masked.to(scores.device)
            return scores

    return GrammarLogitsProcessor()


def parse_json_output(text: str, schema: dict[str, Any] | None = None) -> Any:
    """Parse constrained JSON output, and validate it against ``schema`` when given.

    ``strict=False`` because a length-bounded string can legally hold raw control
    characters that strict parsing rejects; the schema check then has the last word.
    """
    try:
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        snippet = text if len(text) <= 200 else text[:100] + " ... " + text[-80:]
        raise ConstrainedOutputError(f"output is not valid JSON ({exc.msg} at char {exc.pos}): {snippet!r}") from exc
    if schema is not None:
        import jsonschema

        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            raise ConstrainedOutputError(f"output does not match the schema: {exc.message}") from exc
    return value
