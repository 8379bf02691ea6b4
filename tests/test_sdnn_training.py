"""The sdnn trainer and its pipeline: generated grey-level video, the frames encoder, graded TrainingData,
quantization-aware sigma-delta training read back as a bit-exact integer network, and a tiny real sweep
exported and checked in Lava by deploy-run (each sample is one Lava run: few and small)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codesign.config import parse_config
from codesign.errors import CodesignError
from codesign.training import TrainingData, train
from codesign.training.evaluate import NO_PREDICTION, predict_from_values
from codesign.training.sdnn import MESSAGE_STEP
from encoders import get_encoder, load_dataset
from encoders.errors import EncodingError


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("moving_shapes", seed=0, n_samples=160, size=12, timesteps=8)


def graded_data(dataset, timesteps=8) -> TrainingData:
    encoder = get_encoder("frames")
    return TrainingData(encoder.encode(dataset.train.x, timesteps), dataset.train.y,
                        encoder.encode(dataset.validation.x, timesteps), dataset.validation.y, dataset.n_classes,
                        input_shape=dataset.input_shape, graded=True)


def test_moving_shapes_are_balanced_grey_frames_that_change_little_between_steps(shapes):
    assert shapes.kind == "frames" and shapes.n_classes == 4 and shapes.input_shape == (1, 12, 12)
    assert shapes.train.x.shape[1:] == (144, 8) and shapes.train.x.dtype == np.uint8
    labels = np.concatenate([shapes.train.y, shapes.validation.y, shapes.test.y])
    assert np.bincount(labels).tolist() == [40, 40, 40, 40]
    frames = shapes.train.x.astype(int)
    assert frames.max() > 120, "the shape is bright"
    changed = np.abs(np.diff(frames, axis=2)) > 8  # more than the noise
    assert 0 < changed.mean() < 0.1, "slow motion over a static background: most pixels hold from frame to frame"
    again = load_dataset("moving_shapes", seed=0, n_samples=160, size=12, timesteps=8)
    assert np.array_equal(again.train.x, shapes.train.x)
    with pytest.raises(EncodingError, match="'background' = 0.9 is out of range"):
        load_dataset("moving_shapes", background=0.9)


def test_frames_encoder_passes_integers_and_resamples_time():
    frames = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    encoder = get_encoder("frames")
    assert np.array_equal(encoder.encode(frames, 4), frames)
    assert np.array_equal(encoder.encode(frames, 2), frames[..., [0, 2]])
    assert np.array_equal(encoder.encode(frames, 8), frames[..., [0, 0, 1, 1, 2, 2, 3, 3]])
    with pytest.raises(EncodingError, match=r"frame values must lie in \[0, 255\]"):
        encoder.encode(frames.astype(int) + 300, 4)
    with pytest.raises(EncodingError, match="frames must be integers"):
        encoder.encode(frames + 0.5, 4)


def test_graded_training_data_takes_frames_and_spiking_trainers_refuse_them(shapes):
    data = graded_data(shapes)
    assert data.graded and data.train_spikes.max() > 1
    with pytest.raises(CodesignError, match="must hold binary spikes"):
        TrainingData(data.train_spikes, data.train_labels, data.validation_spikes, data.validation_labels, 4)
    with pytest.raises(CodesignError, match=r"integer frames in \[0, 255\]"):
        TrainingData(data.train_spikes.astype(int) * 2, data.train_labels, data.validation_spikes,
                     data.validation_labels, 4, graded=True)
    result = train("slayer", {"epochs": 1}, data)
    assert result.status == "infeasible" and "need a sigma-delta trainer (sdnn)" in result.reason


def test_sigma_output_values_decide_the_class():
    sums = np.array([[3, -1, 7], [0, 0, 0], [-5, -2, -9], [4, 4, 1]])
    assert predict_from_values(sums).tolist() == [2, NO_PREDICTION, 1, 0]


def test_sdnn_trains_a_quantized_sigma_delta_network_that_runs_as_trained(tmp_path):
    data = graded_data(load_dataset("moving_shapes", seed=0, n_samples=600, size=16, timesteps=8))
    params = {"epochs": 10, "patience": 0, "hidden_size": 24, "learning_rate": 0.02, "conv_layers": 1,
              "conv_channels": 8, "conv_stride": 2, "threshold": 0.3, "input_threshold": 6, "sparsity": 1.0,
              "message_bits": 12, "weight_bits": 4}
    result = train("sdnn", params, data, seed=0, device="cpu", artifact_path=tmp_path)
    assert result.status == "complete", result.reason
    network = result.network
    roles = [layer.sigma_delta.role for layer in network.layers]
    assert network.graded and roles == ["delta", "sigma_delta", "sigma_delta", "sigma"]
    assert [layer.sigma_delta.message_bits for layer in network.layers[1:3]] == [12, 12], "the trial's payload width"
    assert network.layers[0].vth == 6, "input_threshold: grey levels"
    assert network.layers[1].vth == int(0.3 * 64)
    for layer in network.layers[1:]:  # 4-bit two's-complement mantissas times one power-of-two step per layer
        weights = np.unique(np.asarray(getattr(layer, "weights", None)))
        step = np.gcd.reduce(np.abs(weights[weights != 0]).astype(int))
        assert weights.min() / step >= -8 and weights.max() / step <= 7
    assert result.hardware_validation_accuracy > 0.4, "4 classes: chance is 0.25"
    assert abs(result.float_validation_accuracy - result.hardware_validation_accuracy) <= 0.2

    # the float model's hidden messages are the chip's integers / MESSAGE_STEP (what message_bits saturates)
    import torch

    from codesign.training.sdnn import SdnnTrainer
    from codesign.training.sdnn_model import SigmaDeltaModel, to_tensor
    from hw_models import Network, simulate

    torch.manual_seed(0)  # a fresh model: its initial weights must not depend on which tests ran before
    model = SigmaDeltaModel(SdnnTrainer.architecture(SdnnTrainer.resolve(
        {key: value for key, value in params.items() if key != "weight_bits"}), data), weight_bits=4,
                            threshold=0.3, input_threshold=6, message_bits=12)
    path = model.export_netx(tmp_path / "fresh.net")
    messages: list = []
    frames = data.validation_spikes[:6]
    with torch.no_grad():
        model(to_tensor(frames, "cpu"), messages)
    chip = simulate(Network.from_netx(path), frames, record_layers=True).layers[1]
    chip = chip.reshape(chip.shape[0], -1, chip.shape[-1])[..., 1:].astype(float)  # one step later on the chip
    sent = messages[0].reshape(len(frames), -1, frames.shape[-1]).numpy()[..., :-1] * MESSAGE_STEP
    assert np.count_nonzero(sent) > 0
    assert np.mean((chip != 0) == (sent != 0)) > 0.97
    both = (chip != 0) & (sent != 0)
    # which neurons send (what synaptic ops and energy count) agrees; the float model's message values
    # follow the chip's only roughly (about half are equal; seed 0's median relative error is 0.024)
    assert np.median(np.abs(chip[both] - sent[both]) / np.abs(sent[both])) < 0.05


def test_activation_netx_cannot_build_is_infeasible(shapes):
    result = train("sdnn", {"epochs": 1, "activation": "unit"}, graded_data(shapes))
    assert result.status == "infeasible" and "netx builds only ReLU" in result.reason


SWEEP = """
[study]
name = "sdnn-test"
seed = 0

[dataset]
name = "moving_shapes"
n_samples = 120
size = 10
timesteps = 6

[encoding]
encoders = ["frames"]
timesteps = 6

[training]
trainers = ["sdnn"]

[training.sdnn]
epochs = 4
learning_rate = 0.02
hidden_size = 16
threshold = {low = 0.03, high = 0.3, log = true}
input_threshold = {low = 2, high = 16}

[hardware]
weight_bits = {low = 5, high = 8}

[objectives]
accuracy = "maximize"
energy_per_inference_uj = "minimize"
synaptic_ops = "minimize"

[budget]
trials = 2

[run]
n_initial = 2
evaluation_samples = 4
"""


def test_sdnn_sweep_exports_and_deploy_run_agrees_with_lava(tmp_path, capsys):
    import tomllib

    from codesign.cli import main
    from codesign.run.sweep import SweepRunner
    from codesign.study.storage import Study

    study_path = tmp_path / "study.sqlite"
    SweepRunner(parse_config(tomllib.loads(SWEEP)), study_path, trials=2).run()
    with Study.open(study_path) as study:
        trials = [trial for trial in study.trials() if trial.state == "complete"]
    assert trials, "a sigma-delta trial completes"
    metrics = trials[0].metrics
    assert metrics["synaptic_ops"] > 0 and metrics["energy_per_inference_uj"] > 0
    assert metrics["energy"]["graded_messages"] > 0 and metrics["energy"]["payload_bits"] > 0
    assert {"sdnn.threshold", "sdnn.input_threshold", "weight_bits"} <= set(trials[0].params)

    assert main(["export", str(study_path), "--out", str(tmp_path / "deploy"), "--pick", "max-accuracy"]) == 0
    deployment = json.loads((tmp_path / "deploy" / "deployment.json").read_text())
    assert deployment["encoder"]["name"] == "frames" and deployment["lava"]["reset_interval"] is None
    assert "Sigma output's values" in deployment["decision"]
    capsys.readouterr()
    code = main(["deploy-run", str(tmp_path / "deploy"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["agree"], result["checks"]
    assert result["full_recorded_set"] and result["samples"] == 4
    assert result["lava"] == result["numba"]
