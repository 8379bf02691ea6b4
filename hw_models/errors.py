"""User-facing errors of the hardware layer (a parameter out of the chip's range, a bad netx file)."""


class HardwareError(ValueError):
    """A user-facing error: the message names the layer, field, value or file at fault."""


class NetxFormatError(HardwareError):
    """A netx HDF5 file that is missing, corrupt, truncated, or uses something we do not support."""
