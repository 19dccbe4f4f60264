"""Three-valued (Kleene) logic for decisions made on partly readable data (DESIGN §5, "Deciding with
partial data").

`Tri` is True (holds), False (definitely does not hold) or None (unknown: a fact it needs could not
be read). `all_of` is False as soon as one part is False, whatever is unknown; `any_of` is True as
soon as one part is True. So a decision is made by what was read whenever that already decides it.
"""

from __future__ import annotations

from collections.abc import Iterable

Tri = bool | None


def all_of(values: Iterable[Tri]) -> Tri:
    """Kleene AND: False if any is False, else None if any is None, else True (True when empty)."""
    unknown = False
    for value in values:
        if value is False:
            return False
        unknown = unknown or value is None
    return None if unknown else True


def any_of(values: Iterable[Tri]) -> Tri:
    """Kleene OR: True if any is True, else None if any is None, else False (False when empty)."""
    unknown = False
    for value in values:
        if value is True:
            return True
        unknown = unknown or value is None
    return None if unknown else False
