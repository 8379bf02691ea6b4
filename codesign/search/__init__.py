"""The optimizer: search spaces, the Pyro GP surrogate, acquisition functions, samplers, Pareto math.

Knows nothing of SNNs: a space of parameters, objectives with directions, constraints, and a
study to read the history from.
"""
