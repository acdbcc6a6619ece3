"""Training engines for the model worker: LoRA instruction tuning of the base causal LM.

Importing this package is cheap; torch, transformers and peft load inside the training call.
"""

from gpu_workers.training.lora import (
    ADAPTER_FORMAT_VERSION,
    AdapterTrainingError,
    ChatExample,
    LoraTrainingConfig,
    TrainingObjects,
    TrainingReport,
    adapter_file_hash,
    build_training_objects,
    chat_examples,
    dataset_hash,
    train_lora_adapter,
)

__all__ = [
    "ADAPTER_FORMAT_VERSION",
    "AdapterTrainingError",
    "ChatExample",
    "LoraTrainingConfig",
    "TrainingObjects",
    "TrainingReport",
    "adapter_file_hash",
    "build_training_objects",
    "chat_examples",
    "dataset_hash",
    "train_lora_adapter",
]
