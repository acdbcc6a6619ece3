"""Short passage handles for the prompt and the grammar, mapped back to chunk ids after decoding.

A chunk id is a UUID: about 35 tokens of a small model's vocabulary, written once per passage
in the prompt and again for every citation in the output. ``S1``..``Sn`` cost one or two
tokens each, which makes prompts shorter, outputs faster and grammars smaller; the stored
report and its audit record carry the real chunk ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pipelines.reports.spec import Passage

HANDLE_PREFIX = "S"


def passages_with_handles(passages: Sequence[Passage]) -> tuple[list[Passage], dict[str, str]]:
    """The passages relabelled ``S1``, ``S2``, ... in order, and the handle -> chunk id map."""
    relabelled, mapping = [], {}
    for index, passage in enumerate(passages, start=1):
        handle = f"{HANDLE_PREFIX}{index}"
        mapping[handle] = passage.chunk_id
        relabelled.append(dataclasses.replace(passage, chunk_id=handle))
    return relabelled, mapping


def resolve_handles(value: Any, mapping: Mapping[str, str]) -> Any:
    """Replace handles by chunk ids wherever the report cites (``citation`` values, ``citations`` items)."""
    if isinstance(value, dict):
        resolved = {}
        for key, item in value.items():
            if key == "citation" and isinstance(item, str):
                resolved[key] = mapping.get(item, item)
            elif key == "citations" and isinstance(item, list):
                resolved[key] = [mapping.get(c, c) if isinstance(c, str) else c for c in item]
            else:
                resolved[key] = resolve_handles(item, mapping)
        return resolved
    if isinstance(value, list):
        return [resolve_handles(item, mapping) for item in value]
    return value
