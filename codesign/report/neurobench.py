"""Which of NeuroBench's metrics (hw_models/workload.py) a trial recorded, and which a table adds.

Shared by `codesign status`/`pareto` (--wide, --json) and the HTML report's trial table, so they
show the same numbers under the same names.
"""

from __future__ import annotations

# NeuroBench metric -> the short header a terminal table gives it
HEADERS = {
    "activation_sparsity": "act. sparsity",
    "synaptic_ops_effective_acs": "eff. ACs",
    "synaptic_ops_effective_macs": "eff. MACs",
    "synaptic_ops_dense": "dense ops",
    "connection_sparsity": "conn. sparsity",
    "footprint_bytes": "footprint B",
}


def neurobench_values(trial) -> dict[str, float]:
    """The NeuroBench metrics a trial recorded (in its metrics, or its values where one is an
    objective); {} for a trial that did not complete or predates them."""
    from hw_models.workload import WORKLOAD_METRICS

    recorded = (trial.metrics or {}) | (trial.values or {})
    return {name: recorded[name] for name in WORKLOAD_METRICS
            if isinstance(recorded.get(name), (int, float)) and not isinstance(recorded.get(name), bool)}


def neurobench_columns(objectives: dict) -> list[str]:
    """The NeuroBench metrics a table adds: those its objectives do not already show."""
    from hw_models.workload import WORKLOAD_METRICS

    return [name for name in WORKLOAD_METRICS if name not in objectives]
