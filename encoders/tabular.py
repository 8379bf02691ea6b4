"""scikit-learn's bundled tabular datasets (no download): digits, iris, wine, breast cancer.

They are small enough to run a whole co-design study in minutes, which makes them the
smoke tests and the first benchmarks of encoders (they are what the EONS/BO work used).
Features are raw here; `build_dataset` scales them with train-split statistics.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from encoders.errors import EncodingError
from encoders.splits import Source, check_labels

TABULAR_DATASETS = ("digits", "iris", "wine", "breast_cancer")


def _sklearn_loader(name: str):
    from sklearn import datasets  # imported lazily: sklearn is slow to import

    return {
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }[name]


def features_source(x: np.ndarray, y: np.ndarray, where: str, info: dict | None = None) -> Source:
    """A features Source from in-memory arrays (also useful for a user's own table)."""
    x = np.asarray(x, dtype=np.float64)
    labels = check_labels(y, where)
    if x.ndim != 2 or x.shape[0] != labels.shape[0]:
        raise EncodingError(f"{where}: features must be (N, F) with N = {labels.shape[0]} labels, got {x.shape}")
    return Source(labels=labels, materialize=lambda indices: x[indices], kind="features",
                  n_features=int(x.shape[1]), info=dict(info or {}))


IMAGE_SHAPES = {"digits": (1, 8, 8)}  # sklearn's digits are 8x8 grey images, flattened row by row


def tabular_source(name: str, rng: np.random.Generator) -> Source:
    x, y = _sklearn_loader(name)(return_X_y=True)
    source = features_source(x, y, f"dataset {name!r}", {"source": f"sklearn.datasets.load_{name}"})
    return replace(source, input_shape=IMAGE_SHAPES.get(name))
