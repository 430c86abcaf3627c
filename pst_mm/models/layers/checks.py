# Copyright (c) pst-mm contributors. All rights reserved.
"""Argument checks shared by the layers, so a bad config value fails at
build time with its name instead of deep inside a conv."""
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence, Tuple

import torch.nn as nn
from torch import Tensor


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


def check_topk(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a non-negative int (a PSA
    top-k)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f'topk must be a non-negative int, got {value!r}')


def check_residual_init(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is None or a number >= 0 (the
    initial scale of a residual branch's last BN)."""
    if value is not None and (isinstance(value, bool) or not isinstance(
            value, (int, float)) or value < 0):
        raise ValueError(f'residual_init must be None or a number >= 0, got '
                         f'{value!r}')


#: Keyword arguments that were renamed: old name -> the error's explanation
#: (read-only).
RENAMED: Mapping[str, str] = MappingProxyType({
    'zero_init_residual':
    'zero_init_residual was replaced by residual_init (zero_init_residual='
    'True is residual_init=0.0)'
})


def reject_renamed(owner: str,
                   kwargs: Mapping[str, Any],
                   renamed: Optional[Mapping[str, str]] = None) -> None:
    """Raise ``TypeError`` for keyword arguments that were renamed (naming
    the new spelling) or that ``owner`` does not take at all.

    Args:
        owner (str): Class name for the message.
        kwargs (Mapping[str, Any]): The keyword arguments left over.
        renamed (Mapping[str, str], optional): ``owner``'s own renamed
            arguments (old name -> what replaced it), over :data:`RENAMED`.
            Defaults to None.
    """
    explain = {**RENAMED, **(renamed or {})}
    for key in kwargs:
        if key in explain:
            raise TypeError(f'{owner}: {explain[key]}')
    if kwargs:
        raise TypeError(f'{owner} got unexpected keyword arguments '
                        f'{sorted(kwargs)}')


def check_half_size(x: Tensor,
                    upper: Tensor,
                    names: Tuple[str, str] = ('x', 'upper')) -> None:
    """Raise ``ValueError`` unless ``upper`` has ``x``'s batch size and is
    ``ceil(H / 2) x ceil(W / 2)`` of its ``H x W`` (the PSA grid pair).

    Args:
        x (Tensor): Fine map, (B, C, H, W).
        upper (Tensor): Coarse map, (B, C_up, Hu, Wu).
        names (tuple[str, str]): What the messages call them.
            Defaults to ('x', 'upper').
    """
    if x.shape[0] != upper.shape[0]:
        raise ValueError(f'batch sizes differ: {names[0]} {x.shape[0]}, '
                         f'{names[1]} {upper.shape[0]}')
    H, W = x.shape[-2:]
    half = ((H + 1) // 2, (W + 1) // 2)
    if tuple(upper.shape[-2:]) != half:
        raise ValueError(
            f'{names[1]} must be ceil(H/2) x ceil(W/2) = {half} for '
            f'{names[0]} of {H}x{W}, got {upper.shape[-2]}x{upper.shape[-1]}')


def check_fine_and_upper(x: Tensor, upper: Tensor, channels: Tuple[int, int],
                         names: Tuple[str, str]) -> None:
    """The input check of a PST or PSA: both maps 4-D, their channels, and
    :func:`check_half_size`.

    Args:
        x (Tensor): Fine map, (B, C, H, W).
        upper (Tensor): Coarse map, (B, C_up, ceil(H/2), ceil(W/2)).
        channels (tuple[int, int]): Expected ``C`` and ``C_up``.
        names (tuple[str, str]): The arguments that set them, for the
            messages (e.g. ``('in_channels', 'upper_channels')``).
    """
    if x.dim() != 4 or upper.dim() != 4:
        raise ValueError(f'x and upper must be 4-D (B, C, H, W), got '
                         f'{tuple(x.shape)} and {tuple(upper.shape)}')
    for arg, t, c, name in zip(('x', 'upper'), (x, upper), channels, names):
        if t.shape[1] != c:
            raise ValueError(
                f'{arg} has {t.shape[1]} channels, expected {name}={c}')
    check_half_size(x, upper)


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
    'check_positive_ints', 'check_choice', 'check_topk',
    'check_residual_init', 'RENAMED', 'reject_renamed', 'check_half_size',
    'check_fine_and_upper', 'raise_on_shape_mismatch'
]
