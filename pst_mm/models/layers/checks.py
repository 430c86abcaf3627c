# Copyright (c) pst-mm contributors. All rights reserved.
"""Argument checks shared by the layers, so a bad config value fails at
build time with its name instead of deep inside a conv."""


def check_positive_ints(owner: str, odd: bool = False, **values) -> None:
    """Raise ``ValueError`` naming the first value that is not a positive
    int (or not odd, with ``odd=True``)."""
    for name, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1 or (
                odd and v % 2 == 0):
            kind = 'a positive odd int' if odd else 'a positive int'
            raise ValueError(f'{owner}: {name} must be {kind}, got {v!r}')


__all__ = ['check_positive_ints']
