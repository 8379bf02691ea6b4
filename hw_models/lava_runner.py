"""Run a netx HDF5 file in Lava's simulated Loihi (`Loihi2SimCfg`, fixed_pt) and record its output spikes.

This is the reference every claim of ours is checked against (netx round trip, the numba
core model, exported deployments). Lava starts one OS process per Lava process, so each call
costs seconds: callers keep sample counts small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hw_models.errors import HardwareError
from hw_models.lava_compat import import_lava_dl


def run_netx_in_lava(path: str | Path, spikes: np.ndarray) -> np.ndarray:
    """Output spikes (batch, n_out, T) of the netx network at `path` for input spikes (batch, n_in, T).

    Each sample runs from a fresh network state (a separate Lava run), so samples cannot leak
    into each other through neuron state or spikes in flight.
    """
    spikes = np.asarray(spikes)
    if spikes.ndim != 3:
        raise HardwareError(f"input spikes must be (batch, n_in, T), got shape {spikes.shape}")
    return np.stack([_run_one(Path(path), sample) for sample in spikes])


def _run_one(path: Path, sample: np.ndarray) -> np.ndarray:
    import_lava_dl()
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    network = netx.hdf5.Network(net_config=str(path))
    n_in, steps = sample.shape
    if network.inp.shape != (n_in,):
        raise HardwareError(f"{path} takes {network.inp.shape[0]} inputs, the spikes have {n_in} channels")
    source = Source(data=sample.astype(np.int32))
    sink = Sink(shape=network.out.shape, buffer=steps)
    source.s_out.connect(network.inp)
    network.out.connect(sink.a_in)
    try:
        network.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        output = sink.data.get()
    finally:
        network.stop()
    return output.astype(np.uint8)
