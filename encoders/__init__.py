"""Spike encoders and datasets: real-valued or event data in, (batch, channels, time) uint8 spikes out.

    >>> from encoders import get_encoder, load_dataset
    >>> data = load_dataset("iris", seed=0)
    >>> spikes = get_encoder("latency", mapping="log").encode(data.train.x, timesteps=20, seed=0)
"""

from encoders.base import Encoder
from encoders.datasets import DATASET_NAMES, check_dataset, dataset_options, load_dataset
from encoders.errors import EncodingError
from encoders.registry import ENCODER_NAMES, ENCODERS, encoder_class, get_encoder
from encoders.splits import Dataset, Split

__all__ = [
    "DATASET_NAMES",
    "ENCODERS",
    "ENCODER_NAMES",
    "Dataset",
    "Encoder",
    "EncodingError",
    "Split",
    "check_dataset",
    "dataset_options",
    "encoder_class",
    "get_encoder",
    "load_dataset",
]
