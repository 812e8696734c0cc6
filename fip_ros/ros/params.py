"""Parameter descriptors for the nodes: one helper so every node declares ranges and read-only flags alike."""

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor


def descriptor(description: str, read_only: bool = True, lo=None, hi=None, integer: bool = False):
    """A ParameterDescriptor; ``lo``/``hi`` give an inclusive float range (an integer range with ``integer``).

    Read-only by default: most node parameters are start-up configuration.
    """
    d = ParameterDescriptor(description=description, read_only=read_only)
    if integer:
        d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
    elif lo is not None:
        d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
    return d
