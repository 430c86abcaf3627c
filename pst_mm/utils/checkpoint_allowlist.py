# Copyright (c) pst-mm contributors. All rights reserved.
"""Load mmengine checkpoints under torch's ``weights_only=True``.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7 checkpoints hold ``HistoryBuffer`` objects, numpy arrays, dtypes and
scalars in their ``message_hub`` state (mmengine#1655). We allowlist exactly
those globals with ``torch.serialization.add_safe_globals``; safe loading
stays on, so a checkpoint can still not run arbitrary code. ``import
pst_mm`` calls :func:`allow_mmengine_checkpoints`; no installed package is
edited.
"""
import pickle
from typing import List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_checkpoint_globals() -> List[object]:
    """numpy globals that pickled arrays, dtypes and scalars refer to."""
    try:  # numpy >= 2 moved the pickling helpers to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    allowed: List[object] = [_reconstruct, scalar, np.ndarray, np.dtype]
    # dtype objects pickle as their class, e.g. numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return allowed


def _history_buffer_getattr(obj, name: str):
    """What ``builtins.getattr`` may do while loading a checkpoint.

    A ``HistoryBuffer`` pickles its statistics methods (``min``, ``max``,
    ``current``, ``mean`` and any registered one) as ``getattr(HistoryBuffer,
    'min')``. Allowlisting the real ``getattr`` would hand any attribute of
    any unpickled object to the checkpoint; this stand-in, registered under
    the name ``builtins.getattr``, resolves those methods and nothing else.
    """
    allowed = set(HistoryBuffer._statistics_methods) | {
        'min', 'max', 'current', 'mean'
    }
    if (obj is HistoryBuffer or isinstance(obj, HistoryBuffer)) \
            and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({type(obj).__name__}, {name!r}); '
        'only HistoryBuffer statistics methods are allowed under '
        'weights_only loading')


def allow_mmengine_checkpoints() -> None:
    """Allowlist what mmengine checkpoints contain for ``weights_only`` loads.

    Idempotent. Covers ``resume``, ``load_from`` and ``tools/test.py CONFIG
    CHECKPOINT`` without ever turning ``weights_only`` off: the allowlist is
    ``HistoryBuffer``, the numpy array/dtype/scalar reconstructors, and a
    ``getattr`` restricted to HistoryBuffer's statistics methods.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not load weights_only by default
        return
    add([HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
        _numpy_checkpoint_globals())


__all__ = ['allow_mmengine_checkpoints']
