"""neuro-codesign: multi-objective co-design of SNN training, spike encoding and neuromorphic hardware."""

from codesign.errors import CodesignError

__all__ = ["CodesignError"]
__version__ = "0.1.0"
