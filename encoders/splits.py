"""Datasets as train/validation/test splits: the one shape every loader's data ends up in.

Loaders only say what the samples are (a `Source`: labels plus a function that produces
the samples for chosen indices); splitting, subsampling and feature scaling happen here,
once, so that every dataset is split the same stratified, seeded way. Sources are lazy
so that a CI-sized `max_samples` run reads and bins only the samples it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from encoders.base import check_finite
from encoders.errors import EncodingError

DATASET_KINDS = ("features", "spikes", "frames")  # frames: (N, C, T) uint8 grey levels (encoders.video)


@dataclass(frozen=True, eq=False)
class Split:
    """Samples and their int64 labels: x is (N, F) float in [0, 1] or (N, C, T) uint8."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: three splits plus what a trial needs to size its network."""

    name: str
    kind: str  # "features": (N, F) in [0, 1], to be encoded; "spikes": (N, C, T) uint8; "frames": (N, C, T) uint8 levels
    train: Split
    validation: Split
    test: Split
    n_classes: int
    n_features: int  # F for features, C (channels) for spikes
    timesteps: int | None = None  # T of spike data; None for features
    info: dict = field(default_factory=dict)  # loader options worth recording (paths, windows)
    input_shape: tuple | None = None  # (C, H, W) when samples are 2-D maps (flattened in C, H, W order), else None

    def describe(self) -> dict:
        """JSON-serializable summary, for logs, reports and study metadata."""
        summary = {
            "name": self.name,
            "kind": self.kind,
            "n_classes": self.n_classes,
            "n_features": self.n_features,
            "timesteps": self.timesteps,
        }
        for split_name in ("train", "validation", "test"):
            split = getattr(self, split_name)
            counts = np.bincount(split.y, minlength=self.n_classes)
            summary[split_name] = {"samples": len(split), "class_counts": [int(c) for c in counts]}
            if self.kind == "spikes" and len(split):
                summary[split_name]["mean_spikes_per_sample"] = float(split.x.sum(dtype=np.int64) / len(split))
        summary["info"] = dict(self.info)
        return summary


@dataclass(frozen=True, eq=False)
class Source:
    """What a loader hands back: labels now, samples on demand."""

    labels: np.ndarray  # (N,) int64
    materialize: Callable[[np.ndarray], np.ndarray]  # sorted indices -> samples
    kind: str
    n_features: int
    timesteps: int | None = None
    info: dict = field(default_factory=dict)
    input_shape: tuple | None = None  # (C, H, W) when the features/channels are a 2-D map, flattened C, H, W


def check_labels(labels: np.ndarray, where: str) -> np.ndarray:
    """1-D non-negative integer labels as int64, or an error naming where they came from."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise EncodingError(f"{where}: labels must be 1-D, got shape {labels.shape}")
    if labels.size and labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise EncodingError(f"{where}: labels must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise EncodingError(f"{where}: labels must be non-negative, found {labels.min()}")
    return labels


def check_fractions(validation_fraction: float, test_fraction: float) -> None:
    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                or not 0.0 <= value < 1.0:
            raise EncodingError(f"{name} = {value!r} is out of range [0, 1)")
    if validation_fraction + test_fraction >= 1.0:
        raise EncodingError(
            f"validation_fraction + test_fraction = {validation_fraction + test_fraction} "
            "leaves no training data; their sum must be below 1"
        )


def stratified_subsample(labels: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most `max_samples` samples with class proportions kept.

    Each sample gets the key (its random rank within its class + 0.5) / class size; taking
    the smallest keys takes every class at the same pace, so proportions hold to +-1.
    """
    if max_samples >= labels.shape[0]:
        return np.arange(labels.shape[0])
    order = rng.permutation(labels.shape[0])
    keys = np.empty(labels.shape[0])
    for label in np.unique(labels):
        members = order[labels[order] == label]
        keys[members] = (np.arange(members.shape[0]) + 0.5) / members.shape[0]
    keys += rng.random(labels.shape[0]) * 1e-9  # random tie-break between classes
    return np.sort(np.argsort(keys, kind="stable")[:max_samples])


def _apportion(counts: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Per-class sizes near counts * fraction that sum to round(total * fraction).

    Largest-remainder rounding: rounding each class on its own would drift the split sizes
    (ten classes of 10 at 0.25 would hold out 20, not 25).
    """
    quota = counts * fraction
    sizes = np.floor(quota).astype(np.int64)
    missing = int(round(counts.sum() * fraction)) - int(sizes.sum())
    remainder = quota - sizes + rng.random(counts.shape[0]) * 1e-9  # random tie-break
    sizes[np.argsort(-remainder, kind="stable")[:max(missing, 0)]] += 1
    return sizes


def stratified_split(labels: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator) -> list[np.ndarray]:
    """Indices of each part (the first part takes the rest), class by class, shuffled.

    Every class keeps at least one sample in the first (training) part when it has any,
    because a class absent from training cannot be learnt.
    """
    classes, counts = np.unique(labels, return_counts=True)
    sizes = np.stack([_apportion(counts, fraction, rng) for fraction in fractions], axis=1) \
        if fractions else np.zeros((classes.shape[0], 0), np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for label, count, class_sizes in zip(classes, counts, sizes):
        members = rng.permutation(np.flatnonzero(labels == label))
        while class_sizes.sum() > count - 1 and class_sizes.sum() > 0:
            class_sizes[int(np.argmax(class_sizes))] -= 1
        start = count - int(class_sizes.sum())
        parts[0].append(members[:start])
        for part, size in zip(parts[1:], class_sizes):
            part.append(members[start:start + size])
            start += size
    return [rng.permutation(np.concatenate(part)).astype(np.int64) if part else np.zeros(0, np.int64)
            for part in parts]


def scale_to_unit(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Min-max scaling with train-split statistics, clipped to [0, 1].

    Only train statistics are used so validation/test do not leak into preprocessing;
    clipping keeps their out-of-range values valid encoder input. Constant features map to 0.
    """
    low = train.min(axis=0) if train.shape[0] else np.zeros(train.shape[1:])
    span = (train.max(axis=0) - low) if train.shape[0] else np.ones(train.shape[1:])
    span = np.where(span > 0, span, np.inf)
    return [np.clip((part - low) / span, 0.0, 1.0) for part in (train, *others)]


def _take(source: Source, indices: np.ndarray, where: str) -> np.ndarray:
    """Samples at `indices` in that order (sources are read in sorted order, for file I/O)."""
    order = np.argsort(indices, kind="stable")
    samples = source.materialize(indices[order])
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.shape[0])
    samples = np.asarray(samples)[inverse]
    if source.kind == "features":
        samples = samples.astype(np.float64)
        check_finite(samples, where)
    return samples


def build_dataset(
    name: str,
    source: Source,
    *,
    rng: np.random.Generator,
    validation_fraction: float,
    test_fraction: float,
    max_samples: int | None = None,
    fixed_test: Source | None = None,
    n_classes: int | None = None,
) -> Dataset:
    """Subsample, split, materialize and (for features) scale a source into a Dataset.

    With `fixed_test` (a separate test file, as SHD ships), test_fraction is not used and
    validation_fraction is the share of the training source held out; `max_samples` caps
    each source separately.
    """
    check_fractions(validation_fraction, test_fraction)
    if source.kind not in DATASET_KINDS:  # pragma: no cover - a loader bug
        raise AssertionError(f"source kind {source.kind!r}")
    where = f"dataset {name!r}"
    if max_samples is not None:
        if isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 1:
            raise EncodingError(f"{where}: option 'max_samples' = {max_samples!r} must be an int >= 1 (or None)")
    pool = np.arange(source.labels.shape[0])
    if max_samples is not None:
        pool = stratified_subsample(source.labels, int(max_samples), rng)
    if pool.shape[0] == 0:
        raise EncodingError(f"{where}: no samples to load")
    if fixed_test is None:
        train, validation, test = (pool[part] for part in
                                   stratified_split(source.labels[pool], (validation_fraction, test_fraction), rng))
        test_source = source
    else:
        train, validation = (pool[part] for part in
                             stratified_split(source.labels[pool], (validation_fraction,), rng))
        test = np.arange(fixed_test.labels.shape[0])
        if max_samples is not None:
            test = stratified_subsample(fixed_test.labels, int(max_samples), rng)
        test = test[rng.permutation(test.shape[0])]
        test_source = fixed_test
    x_train = _take(source, train, where)
    x_validation = _take(source, validation, where)
    x_test = _take(test_source, test, where)
    if source.kind == "features":
        x_train, x_validation, x_test = scale_to_unit(x_train, x_validation, x_test)
    if n_classes is None:
        all_labels = [source.labels] + ([fixed_test.labels] if fixed_test is not None else [])
        n_classes = int(max(int(labels.max()) for labels in all_labels if labels.size) + 1)
    info = dict(source.info)
    if fixed_test is not None:
        info.update({f"test_{key}": value for key, value in fixed_test.info.items()
                     if value != source.info.get(key)})
    return Dataset(
        name=name,
        kind=source.kind,
        train=Split(x_train, source.labels[train]),
        validation=Split(x_validation, source.labels[validation]),
        test=Split(x_test, test_source.labels[test]),
        n_classes=n_classes,
        n_features=source.n_features,
        timesteps=source.timesteps,
        info=info,
        input_shape=source.input_shape,
    )
