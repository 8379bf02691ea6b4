"""The one exception type for user mistakes caught in `codesign` (bad config, bad study, bad rule).

The CLI prints these without a traceback; everything else is a bug and keeps its traceback.
"""


class CodesignError(ValueError):
    """A user-facing error: the message names the key, value or file at fault."""


class OutputExistsError(CodesignError):
    """What would be written is already there; the caller decides whether replacing it is allowed."""
