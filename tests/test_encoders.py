"""Encoders: what each code means (property tests), determinism, declarations, bad input."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import ENCODER_NAMES, Encoder, EncodingError, encoder_class, get_encoder
from encoders.plot import raster
from hyperparams import TYPES

FAST = settings(max_examples=25, deadline=None)
FEATURE_ENCODERS = ("rate", "latency", "delta", "population")
DECLARATION_KEYS = {"name", "type", "low", "high", "log", "choices", "default", "help"}

unit = st.floats(0.0, 1.0, allow_nan=False)


def features(n=6, f=5, seed=0):
    return np.random.default_rng(seed).random((n, f))


# ---------------------------------------------------------------- interface and declarations


def test_registry_names():
    assert ENCODER_NAMES == ("rate", "latency", "delta", "population", "none", "frames")
    for name in ENCODER_NAMES:
        assert isinstance(get_encoder(name), Encoder)
        assert get_encoder(name).name == name


@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_declarations_are_complete_plain_dicts(name):
    declarations = encoder_class(name).hyperparameters()
    assert json.loads(json.dumps(declarations)) == declarations
    for decl in declarations:
        assert set(decl) == DECLARATION_KEYS
        assert decl["type"] in TYPES and decl["help"]
        if decl["type"] in ("float", "int"):
            assert decl["low"] <= decl["default"] <= decl["high"]
        if decl["type"] == "categorical":
            assert decl["default"] in decl["choices"]
        if decl["log"]:
            assert decl["low"] > 0
    # fresh copies: mutating them does not change the encoder class
    if declarations:
        declarations[0]["default"] = "mutated"
        assert encoder_class(name).hyperparameters()[0]["default"] != "mutated"


def _extreme_params(name):
    """One non-default value per declared hyperparameter (the high end or the last choice)."""
    params = {}
    for decl in encoder_class(name).hyperparameters():
        if decl["type"] == "categorical":
            params[decl["name"]] = decl["choices"][-1]
        elif decl["type"] == "bool":
            params[decl["name"]] = not decl["default"]
        else:
            params[decl["name"]] = decl["high"]
    return params


@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_params_round_trip_through_json(name):
    encoder = get_encoder(name, **_extreme_params(name))
    rebuilt = get_encoder(name, **json.loads(json.dumps(encoder.params)))
    assert rebuilt.params == encoder.params
    x = np.random.default_rng(1).integers(0, 2, (3, 4, 7)) if name == "none" else features()
    if name == "frames":  # integer grey-level frames
        x = np.random.default_rng(1).integers(0, 256, (3, 4, 7))
    np.testing.assert_array_equal(encoder.encode(x, 7, seed=3), rebuilt.encode(x, 7, seed=3))


@pytest.mark.parametrize("name", FEATURE_ENCODERS)
@FAST
@given(n=st.integers(0, 5), f=st.integers(1, 6), timesteps=st.integers(1, 12), seed=st.integers(0, 2**32))
def test_shape_dtype_and_channels(name, n, f, timesteps, seed):
    encoder = get_encoder(name)
    spikes = encoder.encode(np.random.default_rng(seed).random((n, f)), timesteps, seed=seed)
    assert spikes.shape == (n, encoder.channels(f), timesteps)
    assert spikes.dtype == np.uint8
    assert set(np.unique(spikes)) <= {0, 1}


def test_channel_counts():
    assert get_encoder("rate").channels(7) == 7
    assert get_encoder("latency").channels(7) == 7
    assert get_encoder("delta").channels(7) == 14
    assert get_encoder("population", bins=5).channels(7) == 35
    assert get_encoder("none").channels(7) == 7


@pytest.mark.parametrize("name,params", [
    ("rate", {}), ("rate", {"mode": "regular"}), ("latency", {}), ("delta", {}),
    ("population", {"code": "rate"}), ("population", {"code": "latency"}),
])
def test_same_seed_same_spikes(name, params):
    encoder, x = get_encoder(name, **params), features(20, 6)
    np.testing.assert_array_equal(encoder.encode(x, 30, seed=5), encoder.encode(x, 30, seed=5))
    np.testing.assert_array_equal(encoder.encode(x, 30, seed=np.random.default_rng(5)),
                                  encoder.encode(x, 30, seed=5))


@pytest.mark.parametrize("name,params", [("rate", {}), ("population", {"code": "rate"})])
def test_different_seeds_differ_for_stochastic_codes(name, params):
    encoder, x = get_encoder(name, **params), features(20, 6)
    assert not np.array_equal(encoder.encode(x, 30, seed=1), encoder.encode(x, 30, seed=2))


# ---------------------------------------------------------------- rate


@FAST
@given(value=unit, max_rate=st.floats(0.01, 1.0), seed=st.integers(0, 2**32))
def test_bernoulli_rate_expected_count_proportional_to_value(value, max_rate, seed):
    timesteps, repeats = 40, 2000
    spikes = get_encoder("rate", max_rate=max_rate).encode(np.full((repeats, 1), value), timesteps, seed=seed)
    probability = value * max_rate
    mean_count = spikes.sum(axis=-1).mean()
    standard_error = np.sqrt(timesteps * probability * (1 - probability) / repeats)
    assert abs(mean_count - probability * timesteps) <= 6 * standard_error + 1e-9


@FAST
@given(values=st.lists(unit, min_size=1, max_size=8), max_rate=st.floats(0.01, 1.0), timesteps=st.integers(1, 60))
def test_regular_rate_exact_count_and_even_spacing(values, max_rate, timesteps):
    x = np.array(values)[:, None]
    spikes = get_encoder("rate", max_rate=max_rate, mode="regular").encode(x, timesteps)[:, 0]
    expected = np.floor(x[:, 0] * max_rate * timesteps + 0.5)
    np.testing.assert_allclose(spikes.sum(axis=-1), expected, atol=1)  # float round-off at exact halves
    for row in spikes:
        gaps = np.diff(np.flatnonzero(row))
        if gaps.size:
            assert gaps.max() - gaps.min() <= 1
    order = np.argsort(x[:, 0])
    assert np.all(np.diff(spikes.sum(axis=-1)[order]) >= 0)


def test_full_rate_fires_every_step_and_zero_never():
    spikes = get_encoder("rate", max_rate=1.0).encode(np.array([[1.0, 0.0]]), 25, seed=0)
    assert spikes[0, 0].all() and not spikes[0, 1].any()


# ---------------------------------------------------------------- latency


@FAST
@given(a=unit, b=unit, mapping=st.sampled_from(["linear", "log"]), timesteps=st.integers(2, 80),
       threshold=st.floats(0.0, 0.9))
def test_latency_larger_value_spikes_earlier(a, b, mapping, timesteps, threshold):
    encoder = get_encoder("latency", mapping=mapping, threshold=threshold)
    spikes = encoder.encode(np.array([[a, b]]), timesteps)[0]
    for value, row in zip((a, b), spikes):
        assert row.sum() == (1 if value > threshold else 0)
    if a > threshold and b > threshold:
        first_a, first_b = (int(np.argmax(row)) for row in spikes)
        if a >= b:
            assert first_a <= first_b
        if mapping == "linear" and a - b > (1 - threshold) / (timesteps - 1):
            assert first_a < first_b


def test_latency_extremes_and_hold_code():
    spikes = get_encoder("latency").encode(np.array([[1.0, 0.5, 0.0]]), 11)[0]
    assert np.flatnonzero(spikes[0]).tolist() == [0]
    assert np.flatnonzero(spikes[1]).tolist() == [5]
    assert not spikes[2].any()
    held = get_encoder("latency", single_spike=False).encode(np.array([[1.0, 0.5, 0.0]]), 11)[0]
    assert held.sum(axis=-1).tolist() == [11, 6, 0]
    assert held[1, 5:].all() and not held[1, :5].any()


def test_log_latency_spends_more_steps_on_weak_values():
    values = np.array([[0.1, 0.2, 0.8, 0.9]])
    first = get_encoder("latency", mapping="log").encode(values, 101)[0].argmax(axis=-1)
    assert first[0] - first[1] > first[2] - first[3] > 0


# ---------------------------------------------------------------- population


@FAST
@given(value=unit, bins=st.integers(2, 16), width=st.floats(0.25, 4.0))
def test_population_nearest_center_fires_most(value, bins, width):
    encoder = get_encoder("population", bins=bins, width=width, code="regular", max_rate=1.0)
    counts = encoder.encode(np.array([[value]]), 50)[0].sum(axis=-1)
    nearest = int(np.argmin(np.abs(np.linspace(0, 1, bins) - value)))
    assert counts[nearest] == counts.max() > 0
    first = get_encoder("population", bins=bins, width=width, code="latency").encode(np.array([[value]]), 50)[0]
    assert first[nearest].any()
    assert int(np.argmax(first[nearest])) == min(int(np.argmax(row)) for row in first if row.any())


@FAST
@given(values=st.lists(unit, min_size=1, max_size=4), bins=st.integers(2, 16))
def test_population_bin_field_fires_only_the_values_bin(values, bins):
    x = np.array([values])
    spikes = get_encoder("population", bins=bins, field="bin", code="regular").encode(x, 10)[0]
    counts = spikes.sum(axis=-1).reshape(len(values), bins)
    for value, row in zip(values, counts):
        expected = min(int(value * bins), bins - 1)
        assert row[expected] == 10 and row.sum() == 10


def test_population_channels_are_feature_major():
    spikes = get_encoder("population", bins=4, field="bin").encode(np.array([[0.0, 1.0]]), 5)[0]
    assert spikes.sum(axis=-1).tolist() == [5, 0, 0, 0, 0, 0, 0, 5]


# ---------------------------------------------------------------- delta


@FAST
@given(series=st.lists(unit, min_size=2, max_size=30), threshold=st.floats(0.005, 0.5))
def test_delta_on_for_rises_off_for_falls(series, threshold):
    x = np.array(series)[None, None, :]
    spikes = get_encoder("delta", threshold=threshold).encode(x, len(series))[0]
    on, off = spikes
    change = np.diff(x[0, 0])
    assert on[0] == off[0] == 0
    assert np.all(on[1:][change >= threshold] == 1) and np.all(off[1:][change >= threshold] == 0)
    assert np.all(off[1:][change <= -threshold] == 1) and np.all(on[1:][change <= -threshold] == 0)
    assert np.all(on[1:][change <= 0] == 0) and np.all(off[1:][change >= 0] == 0)


def test_delta_constant_signal_is_silent_and_drift_accumulates():
    encoder = get_encoder("delta", threshold=0.1)
    assert not encoder.encode(np.full((2, 3, 20), 0.7), 20).any()
    drift = np.linspace(0.0, 0.5, 51)[None, None, :]  # rises 0.01 per step: a level every ~10 steps
    on = encoder.encode(drift, 51)[0, 0]
    assert on.sum() == 5 and not encoder.encode(drift, 51)[0, 1].any()


@FAST
@given(value=unit, threshold=st.floats(0.005, 0.5), timesteps=st.integers(1, 40))
def test_delta_static_features_send_a_count_of_on_spikes(value, threshold, timesteps):
    spikes = get_encoder("delta", threshold=threshold).encode(np.array([[value]]), timesteps)[0]
    levels = value / threshold
    assert not spikes[1].any()
    assert min(np.floor(levels - 1e-6), timesteps) <= spikes[0].sum() <= min(np.floor(levels + 1e-6), timesteps)


def test_delta_resamples_time_series_to_timesteps():
    series = np.concatenate([np.zeros(10), np.ones(10)])[None, None, :]
    spikes = get_encoder("delta").encode(series, 40)[0]
    on_steps = np.flatnonzero(spikes[0])  # the jump is interpolated over ~2 output steps
    assert 1 <= on_steps.size <= 3 and spikes[1].sum() == 0
    assert on_steps.min() >= 18 and on_steps.max() <= 21


# ---------------------------------------------------------------- passthrough


def test_passthrough_keeps_spikes_and_rebins_by_or():
    x = np.zeros((1, 2, 8), dtype=bool)
    x[0, 0, [0, 1, 6]] = True
    encoder = get_encoder("none")
    np.testing.assert_array_equal(encoder.encode(x, 8), x.astype(np.uint8))
    assert encoder.encode(x, 4)[0].tolist() == [[1, 0, 0, 1], [0, 0, 0, 0]]
    assert encoder.encode(x, 16)[0, 0].sum() == 3


def test_passthrough_rejects_non_spikes():
    with pytest.raises(EncodingError, match="only 0 and 1"):
        get_encoder("none").encode(np.full((1, 2, 3), 2), 3)
    with pytest.raises(EncodingError, match="3-D"):
        get_encoder("none").encode(np.zeros((2, 3)), 3)


# ---------------------------------------------------------------- bad input


def test_unknown_encoder_lists_known_ones():
    with pytest.raises(EncodingError, match="unknown encoder 'ratee'.*'rate', 'latency', 'delta', 'population'"):
        get_encoder("ratee")


def test_out_of_range_hyperparameter_names_it_and_its_range():
    with pytest.raises(EncodingError, match=r"^encoder 'rate': max_rate = 1\.5 is outside the allowed range \[0\.01, 1\.0\]$"):
        get_encoder("rate", max_rate=1.5)
    with pytest.raises(EncodingError, match=r"^encoder 'population': bins = 1 is outside the allowed range \[2, 32\]$"):
        get_encoder("population", bins=1)
    with pytest.raises(EncodingError, match=r"bins = 2\.5 is not an integer"):
        get_encoder("population", bins=2.5)
    with pytest.raises(EncodingError, match=r"mapping = 'cubic' is not one of \['linear', 'log'\]"):
        get_encoder("latency", mapping="cubic")
    with pytest.raises(EncodingError, match=r"single_spike = 1 is not a bool"):
        get_encoder("latency", single_spike=1)


def test_unknown_hyperparameter_lists_known_ones():
    with pytest.raises(EncodingError, match=r"unknown hyperparameter\(s\) \['maxrate'\]; known ones are \['max_rate', 'mode'\]"):
        get_encoder("rate", maxrate=0.3)


@pytest.mark.parametrize("name", FEATURE_ENCODERS)
def test_nan_features_raise(name):
    x = features()
    x[2, 3] = np.nan
    with pytest.raises(EncodingError, match=r"1 NaN/inf value\(s\), first at index \(2, 3\)"):
        get_encoder(name).encode(x, 5)


def test_unscaled_input_timesteps_and_seed_are_checked():
    encoder = get_encoder("rate")
    with pytest.raises(EncodingError, match=r"must lie in \[0, 1\]"):
        encoder.encode(features() * 3, 5)
    np.testing.assert_array_equal(encoder.encode(np.array([[1 + 1e-9]]), 3, seed=0),
                                  encoder.encode(np.array([[1.0]]), 3, seed=0))
    with pytest.raises(EncodingError, match="timesteps = 0 is out of range"):
        encoder.encode(features(), 0)
    with pytest.raises(EncodingError, match="timesteps"):
        encoder.encode(features(), 2.5)
    with pytest.raises(EncodingError, match="seed"):
        encoder.encode(features(), 5, seed="abc")
    with pytest.raises(EncodingError, match="2-D"):
        encoder.encode(np.zeros((2, 3, 4)), 5)


# ---------------------------------------------------------------- plot


def test_raster_writes_a_png(tmp_path):
    spikes = get_encoder("population", bins=4).encode(features(2, 3), 20)
    path = raster(spikes, tmp_path / "raster.png", sample=1, title="population")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(EncodingError, match="sample = 5"):
        raster(spikes, tmp_path / "bad.png", sample=5)
