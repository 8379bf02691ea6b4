"""Kept for the imports the README shows: `codesign.samplers` lives in `codesign.search.samplers`."""

from codesign.search.samplers import *  # noqa: F401,F403
from codesign.search.samplers import __all__  # noqa: F401
