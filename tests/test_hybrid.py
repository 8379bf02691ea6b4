"""HYBRID (ANN -> SNN conversion with threshold balancing, then spike-based fine-tuning) on sklearn digits."""

from __future__ import annotations

import numpy as np

from codesign.training import TrainingData, hardware_accuracy, train

# Conversion alone (no fine-tuning) at T=64 with integrate-and-fire neurons (du=4096, dv=0)
# and 8-bit weights keeps the ANN's validation accuracy within this margin (measured: ~0.02).
CONVERSION_MARGIN = 0.05


def _digits(timesteps: int, n_train: int | None = None):
    from encoders import get_encoder, load_dataset

    dataset = load_dataset("digits", seed=0)
    encoder = get_encoder("rate")
    spikes = {name: encoder.encode(getattr(dataset, name).x, timesteps, seed=index)
              for index, name in enumerate(("train", "validation", "test"))}
    n_train = n_train or len(dataset.train.y)
    data = TrainingData(spikes["train"][:n_train], dataset.train.y[:n_train], spikes["validation"],
                        dataset.validation.y, dataset.n_classes)
    return data, (spikes["test"], dataset.test.y)


def _ann_accuracy(result) -> float:
    return max(entry["validation_accuracy"] for entry in result.history if entry["phase"] == "ann")


def test_conversion_preserves_ann_accuracy_at_generous_timesteps():
    data, _ = _digits(64)
    params = {"ann_epochs": 15, "finetune_epochs": 0, "du": 4096, "dv": 0, "weight_bits": 8}
    result = train("hybrid", params, data, seed=0)
    assert result.status == "complete", result.reason
    ann = _ann_accuracy(result)
    assert ann >= 0.9
    assert result.float_validation_accuracy >= ann - CONVERSION_MARGIN
    assert result.hardware_validation_accuracy >= ann - CONVERSION_MARGIN
    assert [entry["phase"] for entry in result.history][-1] == "conversion"


def test_hybrid_with_finetuning_on_default_hardware_params():
    data, (test_spikes, test_labels) = _digits(20)
    result = train("hybrid", {"ann_epochs": 10, "finetune_epochs": 2}, data, seed=0)
    assert result.status == "complete", result.reason
    phases = [entry["phase"] for entry in result.history]
    assert phases.count("ann") <= 10 and "conversion" in phases and phases.count("finetune") == 2
    assert result.epochs_run == phases.count("ann") + 2  # the conversion is not an epoch
    conversion = next(entry for entry in result.history if entry["phase"] == "conversion")
    # fine-tuning keeps the better of the converted and fine-tuned weights
    assert result.float_validation_accuracy >= conversion["validation_accuracy"]
    assert all(layer.num_weight_bits <= 8 for layer in result.network.layers)
    assert hardware_accuracy(result.network, test_spikes, test_labels).accuracy >= 0.75
    assert abs(result.accuracy_gap) <= 0.05


def test_hybrid_is_deterministic_and_quantized():
    data, _ = _digits(16, n_train=300)
    params = {"ann_epochs": 3, "finetune_epochs": 1, "hidden_size": 24, "weight_bits": 3}
    first = train("hybrid", params, data, seed=7)
    again = train("hybrid", params, data, seed=7)
    assert first.status == again.status == "complete", first.reason
    assert first.network.equals(again.network)
    assert all(layer.num_weight_bits <= 3 for layer in first.network.layers)


def test_hybrid_ann_divergence_and_pruning_end_without_exceptions(monkeypatch):
    import torch

    data, _ = _digits(8, n_train=100)
    result = train("hybrid", {"ann_epochs": 3}, data, epoch_callback=lambda epoch, metrics: epoch < 1)
    assert result.status == "pruned" and result.epochs_run == 2
    assert result.history[0]["phase"] == "ann"

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", lambda logits, labels: logits.sum() * np.nan)
    result = train("hybrid", {"ann_epochs": 3}, data)
    assert result.status == "failed" and "diverged" in result.reason and result.network is None


def test_batch_norm_folds_into_conv_weights_and_a_channel_bias():
    import torch

    from codesign.training.hybrid import fold_batch_norm

    torch.manual_seed(0)
    conv, norm = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False), torch.nn.BatchNorm2d(3)
    norm.train()
    for _ in range(5):  # move the running statistics away from (0, 1)
        norm(conv(torch.rand(8, 2, 6, 6) * 3 + 1))
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([0.5, -2.0, 1.5]))
        norm.bias.copy_(torch.tensor([0.3, 0.0, -1.0]))
    norm.eval()
    x = torch.rand(4, 2, 6, 6)
    weight, bias = fold_batch_norm(conv, norm)
    folded = torch.nn.functional.conv2d(x.double(), torch.as_tensor(weight), torch.as_tensor(bias), padding=1)
    np.testing.assert_allclose(folded.numpy(), norm(conv(x)).detach().double().numpy(), rtol=1e-5, atol=1e-5)


def test_conv_conversion_keeps_the_batch_normed_ann_accuracy_with_a_neuron_bias(tmp_path):
    import h5py

    from encoders import get_encoder, load_dataset
    from hw_models import Network
    from hw_models.network import ConvLayer

    dataset = load_dataset("digits", seed=0)
    assert dataset.input_shape == (1, 8, 8)
    encoder = get_encoder("rate")
    spikes = [encoder.encode(part.x, 64, seed=index) for index, part in enumerate((dataset.train, dataset.validation))]
    data = TrainingData(spikes[0], dataset.train.y, spikes[1], dataset.validation.y, dataset.n_classes,
                        input_shape=dataset.input_shape)
    params = {"conv_layers": 1, "conv_channels": 6, "kernel_size": 3, "conv_stride": 2, "pool": 1, "hidden_layers": 0,
              "ann_epochs": 15, "finetune_epochs": 0, "du": 4096, "dv": 0, "weight_bits": 8}
    result = train("hybrid", params, data, seed=0, artifact_path=tmp_path, device="cpu")
    assert result.status == "complete", result.reason
    ann = _ann_accuracy(result)
    assert ann >= 0.85
    assert result.float_validation_accuracy >= ann - CONVERSION_MARGIN
    assert result.hardware_validation_accuracy >= ann - CONVERSION_MARGIN
    conv = result.network.layers[0]
    assert isinstance(conv, ConvLayer)
    channel_bias = conv.bias.reshape(6, -1)
    assert np.all(channel_bias == channel_bias[:, :1]), "one bias per channel"
    assert len(np.unique(channel_bias[:, 0])) > 1 and np.any(channel_bias != 0), "the folded shifts differ per channel"
    with h5py.File(tmp_path / "network.net") as handle:
        assert handle["layer/1/bias"].shape == (6,)
    assert Network.from_netx(tmp_path / "network.net").equals(result.network)
