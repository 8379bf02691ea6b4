"""Hyperparameter declarations and the one value check that encoders, trainers, the sweep
config and the search space all apply.

It sits below `encoders` and `codesign` (it imports neither) so that both can declare
their hyperparameters the same way and refuse the same values with the same words.
"""

from hyperparams.declaration import TYPES, HyperparameterError, check_bounds, check_value, declare, resolve, same_choice

__all__ = ["TYPES", "HyperparameterError", "check_bounds", "check_value", "declare", "resolve", "same_choice"]
