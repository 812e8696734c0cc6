"""Settings dataclasses changed from JSON objects (``fip-train --config`` / ``--augment``, checkpoint
metadata): one rule for unknown names and for JSON arrays."""

from dataclasses import fields, replace


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def with_overrides(base, changes: dict, what: str):
    """The dataclass ``base`` with the fields in ``changes`` replaced; JSON arrays (lists, nested too) become
    tuples, as the dataclasses hold them; an unknown name is a ValueError naming ``what``."""
    unknown = set(changes) - {f.name for f in fields(base)}
    if unknown:
        raise ValueError(f"unknown {what} fields: {sorted(unknown)}")
    return replace(base, **{k: _tuples(v) for k, v in changes.items()})
