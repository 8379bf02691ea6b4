"""Kept for the imports the README shows: `codesign.space` lives in `codesign.search.space`."""

from codesign.search.space import *  # noqa: F401,F403
from codesign.search.space import __all__  # noqa: F401
