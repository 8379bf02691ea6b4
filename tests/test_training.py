"""codesign.training: SLAYER in lava-dl on sklearn digits, quantization, export, and every way a trial can end."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.training import (
    TRAINER_NAMES,
    TrainingData,
    get_trainer,
    hardware_accuracy,
    hardware_hyperparameters,
    predict_from_counts,
    train,
)
from hw_models import Network, load_profile

TIMESTEPS = 20


@pytest.fixture(scope="module")
def digits():
    """sklearn digits rate-coded at T=20 (train/validation/test), as a trial's encoder would give them."""
    from encoders import get_encoder, load_dataset

    dataset = load_dataset("digits", seed=0)
    encoder = get_encoder("rate")
    spikes = {
        name: encoder.encode(getattr(dataset, name).x, TIMESTEPS, seed=index)
        for index, name in enumerate(("train", "validation", "test"))
    }
    labels = {name: getattr(dataset, name).y for name in spikes}
    full = TrainingData(spikes["train"], labels["train"], spikes["validation"], labels["validation"], dataset.n_classes)
    small = TrainingData(spikes["train"][:200], labels["train"][:200], spikes["validation"][:100],
                         labels["validation"][:100], dataset.n_classes)
    return {"full": full, "small": small, "test": (spikes["test"], labels["test"])}


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """One SLAYER run on all of digits: 6-bit weights, learned delays, 6 epochs (a few seconds on one core)."""
    path = tmp_path_factory.mktemp("slayer") / "network.net"
    params = {"epochs": 6, "weight_bits": 6, "learn_delays": True, "max_delay": 4}
    return train("slayer", params, digits["full"], seed=0, artifact_path=path)


# --- declarations and parameter checks (no training) -----------------------------------------

KEYS = {"name", "type", "low", "high", "log", "choices", "default", "help"}


@pytest.mark.parametrize("declarations", [
    *(get_trainer(name).hyperparameters() for name in TRAINER_NAMES),
    hardware_hyperparameters("loihi2"),
], ids=[*TRAINER_NAMES, "hardware"])
def test_declarations_are_plain_dicts_with_valid_defaults(declarations):
    for declaration in declarations:
        assert set(declaration) == KEYS, declaration["name"]
        assert declaration["type"] in ("float", "int", "categorical", "bool")
        default = declaration["default"]
        if declaration["type"] in ("float", "int"):
            assert declaration["low"] <= default <= declaration["high"], declaration["name"]
        if declaration["type"] == "categorical":
            assert default in declaration["choices"]
        assert declaration["help"]


def test_hardware_declarations_follow_the_profile():
    declared = {d["name"]: d for d in hardware_hyperparameters("loihi2")}
    profile = load_profile("loihi2")
    assert set(declared) == {"weight_bits", "vth", "du", "dv", "max_delay"}
    assert (declared["weight_bits"]["low"], declared["weight_bits"]["high"]) == (1, 8)
    assert declared["max_delay"]["high"] == profile.limit("delay_max") == 62
    assert declared["du"]["high"] == declared["dv"]["high"] == 4096
    assert declared["vth"]["high"] == profile.limit("threshold_mantissa_max")


@pytest.mark.parametrize("name, params, named", [
    ("slayer", {"learning_rte": 0.01}, "learning_rte"),
    ("slayer", {"weight_bits": 9}, "weight_bits"),
    ("slayer", {"du": 5000}, "du"),
    ("slayer", {"max_delay": 63}, "max_delay"),
    ("slayer", {"learning_rate": -1.0}, "learning_rate"),
    ("slayer", {"epochs": 2.5}, "epochs"),
    ("slayer", {"loss": "hinge"}, "loss"),
    ("slayer", {"learn_delays": "yes"}, "learn_delays"),
    ("slayer", {"true_rate": 0.1, "false_rate": 0.2}, "false_rate"),
    ("hybrid", {"percentile": 101.0}, "percentile"),
    ("hybrid", {"learning_rate": 0.01}, "learning_rate"),  # SLAYER's name, not HYBRID's
    ("nosuchtrainer", {}, "nosuchtrainer"),
])
def test_bad_params_are_refused_naming_the_param(digits, name, params, named):
    with pytest.raises(CodesignError, match=re.escape(named)):
        train(name, params, digits["small"])


def test_unknown_profile_is_refused(digits):
    with pytest.raises(CodesignError, match="nosuchchip"):
        train("slayer", {}, digits["small"], profile="nosuchchip")


def test_training_data_is_checked():
    spikes = np.zeros((4, 3, 5), dtype=np.uint8)
    labels = np.array([0, 1, 0, 1])
    with pytest.raises(CodesignError, match="validation_spikes has 2 channels"):
        TrainingData(spikes, labels, spikes[:, :2], labels, 2)
    with pytest.raises(CodesignError, match="train_labels"):
        TrainingData(spikes, labels + 5, spikes, labels, 2)
    with pytest.raises(CodesignError, match="binary"):
        TrainingData(spikes + 2, labels, spikes, labels, 2)


def test_decision_rule_ties_go_to_lowest_class_and_silence_is_wrong():
    counts = np.array([[0, 3, 3], [1, 0, 0], [0, 0, 0]])
    assert predict_from_counts(counts).tolist() == [1, 0, -1]


# --- chip units and quantization, against lava-dl's own export -------------------------------

def test_units_agree_with_lava_dl_export(tmp_path):
    from lava.lib.dl.slayer.neuron.cuba import neuron_params

    from codesign.training.hardware import HardwareParams
    from codesign.training.snn import SpikingModel
    from codesign.training.units import slayer_neuron_params

    params = slayer_neuron_params(80, 1024, 512)
    assert (params["threshold"], params["current_decay"], params["voltage_decay"]) == (1.25, 0.25, 0.125)
    model = SpikingModel([3, 2], HardwareParams(weight_bits=8, vth=80, du=1024, dv=512, max_delay=0))
    model.set_float_weights([np.array([[0.5, -0.25, 1.0], [0.0, 0.125, -1.0]])])
    path = model.export_netx(tmp_path / "units.net")
    with h5py.File(path, "r") as handle:
        neuron = {key: handle[f"layer/0/neuron/{key}"][()] for key in ("vThMant", "iDecay", "vDecay")}
        weights = handle["layer/0/weight"][()]
    assert neuron == {"vThMant": 80, "iDecay": 1024, "vDecay": 512}
    assert weights.tolist() == [[32, -16, 64], [0, 8, -64]]  # float weight * 64
    back = neuron_params(neuron)  # lava-dl's own inverse mapping
    assert (back["threshold"], back["current_decay"], back["voltage_decay"]) == (1.25, 0.25, 0.125)


@pytest.mark.parametrize("weight_bits", range(1, 9))
def test_exported_weights_have_at_most_the_trial_weight_bits(tmp_path, weight_bits):
    import torch

    from codesign.training.hardware import HardwareParams
    from codesign.training.quantize import WeightQuantizer
    from codesign.training.snn import SpikingModel

    rng = np.random.default_rng(weight_bits)
    hardware = HardwareParams(weight_bits=weight_bits, vth=80, du=2048, dv=1024, max_delay=0)
    model = SpikingModel([16, 12, 8, 4], hardware)
    scales = (0.05, 0.7, 6.0)  # fine, medium, and beyond the 8-bit range (clipped)
    model.set_float_weights([rng.normal(0, scale, (n_out, n_in))
                             for scale, (n_in, n_out) in zip(scales, [(16, 12), (12, 8), (8, 4)])])
    quantizer = WeightQuantizer(weight_bits)
    for block in model.blocks:
        integers = quantizer(block.synapse.weight, descale=True).detach().numpy()
        assert np.array_equal(integers, np.round(integers))
        assert len(np.unique(integers)) <= 2**weight_bits
        assert -256 <= integers.min() and integers.max() <= 254
        assert torch.allclose(quantizer(block.synapse.weight) * 64, torch.as_tensor(integers))
    network = Network.from_netx(model.export_netx(tmp_path / "q.net"))
    assert all(layer.num_weight_bits <= weight_bits for layer in network.layers)
    if weight_bits == 1:
        assert all(layer.sign_mode.name == "EXCITATORY" for layer in network.layers)


# --- a real SLAYER run ---------------------------------------------------------------------------

def test_slayer_learns_digits_on_the_hardware_model(trained, digits):
    assert trained.status == "complete", trained.reason
    assert trained.trainer == "slayer" and trained.epochs_run == len(trained.history) == 6
    assert trained.training_time_s > 0
    assert all(layer.num_weight_bits <= 6 for layer in trained.network.layers)
    assert trained.network.layers[0].delays is not None and trained.network.layers[0].max_delay <= 4
    assert trained.network.problems("loihi2") == []
    test_spikes, test_labels = digits["test"]
    evaluation = hardware_accuracy(trained.network, test_spikes, test_labels)
    assert evaluation.accuracy >= 0.6  # chance is 0.1
    assert evaluation.output_spikes.shape[2] > TIMESTEPS  # padded with the pipeline delay
    assert evaluation.counts.batch == len(test_labels)
    # the float-vs-hardware gap is reported, and small for an exported, quantization-aware network
    assert trained.hardware_validation_accuracy is not None
    assert abs(trained.accuracy_gap) <= 0.05
    assert trained.netx_path is not None and Path(trained.netx_path).is_file()


def test_numba_model_of_the_export_matches_lava_spike_for_spike(trained, digits):
    from hw_models import pipeline_delay_steps, simulate
    from hw_models.backends.lava import run_netx_per_sample as run_netx_in_lava

    network = Network.from_netx(trained.netx_path)
    assert network.equals(trained.network)
    spikes = digits["test"][0][:3]
    padded = np.concatenate([spikes, np.zeros(spikes.shape[:2] + (pipeline_delay_steps(network),), np.uint8)], axis=2)
    lava = run_netx_in_lava(trained.netx_path, padded)
    numba = simulate(network, padded).output
    assert lava.sum() > 0
    np.testing.assert_array_equal(numba, lava)


def test_same_seed_same_network_different_seed_different(digits):
    import torch

    params = {"epochs": 2, "hidden_size": 16, "batch_size": 50}
    threads, rng_state = torch.get_num_threads(), torch.random.get_rng_state()
    first = train("slayer", params, digits["small"], seed=3)
    # training leaves the caller's torch alone: thread count and global RNG are restored
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), rng_state)
    again = train("slayer", params, digits["small"], seed=3)
    other = train("slayer", params, digits["small"], seed=4)
    assert first.status == again.status == other.status == "complete"
    assert first.network.equals(again.network)
    assert first.history[-1]["loss"] == again.history[-1]["loss"]
    assert not first.network.equals(other.network)


def test_early_stopping_stops_after_patience_epochs(digits):
    result = train("slayer", {"epochs": 30, "patience": 2, "learning_rate": 1e-5, "hidden_size": 16},
                   digits["small"], seed=0)
    assert result.status == "complete"
    assert result.epochs_run < 30 and result.history[-1].get("early_stopped")


# --- outcomes that end a trial without an exception --------------------------------------------

def test_epoch_callback_returning_false_prunes(digits):
    seen = []

    def callback(epoch, metrics):
        seen.append((epoch, metrics["validation_accuracy"]))
        return False

    result = train("slayer", {"epochs": 5, "hidden_size": 16}, digits["small"], epoch_callback=callback)
    assert result.status == "pruned" and "epoch_callback" in result.reason
    assert result.epochs_run == 1 and len(seen) == 1 and result.network is None


def test_nan_loss_ends_as_failed(digits, monkeypatch):
    import torch

    import codesign.training.snn as snn

    class NanLoss(torch.nn.Module):
        def forward(self, output, labels):
            return output.sum() * float("nan")

    monkeypatch.setattr(snn, "make_loss", lambda *args: NanLoss())
    result = train("slayer", {"epochs": 3, "hidden_size": 16}, digits["small"])
    assert result.status == "failed" and "diverged" in result.reason and "nan" in result.reason.lower()
    assert result.network is None


def test_absurd_threshold_gives_a_silent_failed_network(digits):
    result = train("slayer", {"epochs": 1, "hidden_size": 16, "vth": 100000}, digits["small"])
    assert result.status == "failed" and "silent" in result.reason


def test_crash_inside_training_is_recorded_not_raised(digits, monkeypatch):
    import codesign.training.snn as snn

    def broken(*args, **kwargs):
        raise RuntimeError("simulated CUDA out of memory")

    monkeypatch.setattr(snn, "fit_spiking", broken)
    result = train("slayer", {"epochs": 1}, digits["small"])
    assert result.status == "failed" and "RuntimeError: simulated CUDA out of memory" in result.reason


def test_network_larger_than_a_tiny_chip_is_infeasible(digits, tmp_path):
    text = (Path(load_profile("loihi2").path)).read_text()
    text = re.sub(r"^name = .*$", 'name = "tiny"', text, flags=re.M)
    text = re.sub(r"^cores = \{ value = \d+", "cores = { value = 1", text, flags=re.M)
    text = re.sub(r"^neurons_per_core = \{ value = \d+", "neurons_per_core = { value = 16", text, flags=re.M)
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(text)
    result = train("slayer", {"hidden_size": 32}, digits["small"], profile=tiny)
    assert result.status == "infeasible" and "tiny" in result.reason and "cores" in result.reason
    assert result.epochs_run == 0 and result.network is None
