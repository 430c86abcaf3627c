# Copyright (c) pst-mm contributors. All rights reserved.
"""Argument checks shared by the layers, so a bad config value fails at
build time with its name instead of deep inside a conv."""
from typing import Any, Mapping, Sequence

import torch.nn as nn


def check_positive_ints(owner: str, odd: bool = False, **values) -> None:
    """Raise ``ValueError`` naming the first value that is not a positive
    int (or not odd, with ``odd=True``)."""
    for name, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1 or (
                odd and v % 2 == 0):
            kind = 'a positive odd int' if odd else 'a positive int'
            raise ValueError(f'{owner}: {name} must be {kind}, got {v!r}')


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise ``ValueError`` naming ``value`` and the ``choices`` when it is
    not one of them."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got '
                         f'{value!r}')


def check_residual_init(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is None or a number >= 0 (the
    initial scale of a residual branch's last BN)."""
    if value is not None and (isinstance(value, bool) or not isinstance(
            value, (int, float)) or value < 0):
        raise ValueError(f'residual_init must be None or a number >= 0, got '
                         f'{value!r}')


def reject_renamed(owner: str, kwargs: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` for keyword arguments that were renamed (naming
    the new spelling) or that ``owner`` does not take at all."""
    if 'zero_init_residual' in kwargs:
        raise TypeError(f'{owner}: zero_init_residual was replaced by '
                        f'residual_init (zero_init_residual=True is '
                        f'residual_init=0.0)')
    if kwargs:
        raise TypeError(f'{owner} got unexpected keyword arguments '
                        f'{sorted(kwargs)}')


def raise_on_shape_mismatch(module: nn.Module, state_dict: Mapping,
                            prefix: str, hint: str) -> None:
    """Raise ``ValueError`` when ``state_dict`` holds a tensor for one of
    ``module``'s parameters or buffers under ``prefix`` whose shape differs.

    For ``_load_from_state_dict`` overrides: mmengine loads checkpoints with
    ``strict=False``, which turns a shape mismatch into a log line and keeps
    the random weights.
    """
    own = dict(module.named_parameters())
    own.update(module.named_buffers())
    bad = []
    for name, tensor in own.items():
        saved = state_dict.get(prefix + name)
        if saved is not None and hasattr(saved, 'shape') and \
                tuple(saved.shape) != tuple(tensor.shape):
            bad.append(f'{prefix}{name}: checkpoint {tuple(saved.shape)}, '
                       f'model {tuple(tensor.shape)}')
    if bad:
        raise ValueError(f'{type(module).__name__} cannot load this '
                         f'checkpoint: {hint}. Shape mismatches: ' +
                         '; '.join(bad[:4]) +
                         (f' (+{len(bad) - 4} more)' if len(bad) > 4 else ''))


__all__ = [
    'check_positive_ints', 'check_choice', 'check_residual_init',
    'reject_renamed', 'raise_on_shape_mismatch'
]
