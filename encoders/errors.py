"""User-facing errors of the encoding layer (unknown encoder/dataset, bad hyperparameter, bad data)."""


class EncodingError(ValueError):
    """A user-facing error: the message names the encoder, dataset, parameter, value or file at fault."""
