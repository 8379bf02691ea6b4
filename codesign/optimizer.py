"""Kept for the imports the README shows: `codesign.optimizer` lives in `codesign.search.optimizer`."""

from codesign.search.optimizer import *  # noqa: F401,F403
from codesign.search.optimizer import __all__  # noqa: F401
