"""The hardware level: integer networks, chip profiles, backends that run them, and their costs."""

from hw_models.activity import ActivityCounts
from hw_models.backends import SimulationResult, pipeline_delay_steps, simulate
from hw_models.energy import EnergyReport, estimate_energy
from hw_models.errors import HardwareError, NetxFormatError
from hw_models.mapping import Mapping, map_network
from hw_models.network import DenseLayer, Network, SignMode, dense_network
from hw_models.profile import ChipProfile, available_profiles, load_profile

__all__ = [
    "ActivityCounts",
    "ChipProfile",
    "DenseLayer",
    "EnergyReport",
    "HardwareError",
    "Mapping",
    "Network",
    "NetxFormatError",
    "SignMode",
    "SimulationResult",
    "available_profiles",
    "dense_network",
    "estimate_energy",
    "load_profile",
    "map_network",
    "pipeline_delay_steps",
    "simulate",
]
