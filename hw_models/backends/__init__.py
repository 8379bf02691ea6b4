"""The backends that run a `Network`: one interface (`simulate` -> `SimulationResult`), several
implementations (`numba_core`, `lava`, `brian2`), chosen by name through `registry`."""

from hw_models.backends.registry import BACKENDS, simulate
from hw_models.backends.result import SimulationResult
from hw_models.backends.spikes import append_silence, bernoulli_spikes, check_spikes, pipeline_delay_steps

__all__ = [
    "BACKENDS",
    "SimulationResult",
    "append_silence",
    "bernoulli_spikes",
    "check_spikes",
    "pipeline_delay_steps",
    "simulate",
]
