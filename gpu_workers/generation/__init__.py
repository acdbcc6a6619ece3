"""Text generation for the model workers: checkpoints, the batched engine, constrained decoding, batching.

Importing this package is cheap (no torch, transformers, peft or xgrammar): those load in
``GenerationEngine.setup()`` and in the functions that need them.
"""

from gpu_workers.generation.batching import DynamicBatcher, collect_batch
from gpu_workers.generation.checkpoints import (
    DEFAULT_CHECKPOINT_DIR,
    adapter_fingerprint,
    checkpoint_fingerprint,
    checkpoint_info,
    convert_gguf_checkpoint,
    packaged_smollm2_gguf,
)
from gpu_workers.generation.constrained import (
    ConstrainedOutputError,
    ConstraintError,
    GrammarCache,
    constraint_hash,
    parse_json_output,
)
from gpu_workers.generation.engine import (
    AdapterHashMismatch,
    AdapterSpec,
    GenerationEngine,
    GenerationRequest,
    GenerationResult,
    PromptTooLong,
    UnknownAdapter,
)

__all__ = [
    "DEFAULT_CHECKPOINT_DIR",
    "AdapterHashMismatch",
    "AdapterSpec",
    "ConstrainedOutputError",
    "ConstraintError",
    "DynamicBatcher",
    "GenerationEngine",
    "GenerationRequest",
    "GenerationResult",
    "GrammarCache",
    "PromptTooLong",
    "UnknownAdapter",
    "adapter_fingerprint",
    "checkpoint_fingerprint",
    "checkpoint_info",
    "collect_batch",
    "constraint_hash",
    "convert_gguf_checkpoint",
    "packaged_smollm2_gguf",
    "parse_json_output",
]
