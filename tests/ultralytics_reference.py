# Copyright (c) pst-mm contributors. All rights reserved.
"""Shared by the parity tests and by the script that made the authors'
fixtures (tests/data/p2hct/make_p2hct_fixtures.py): reference weights that
are a pure function of the state-dict key and shape, so a model can be
filled identically with and without the code that defined it.

Never imported by ``pst_mm`` or ``tools``.
"""
import zlib
from typing import Dict

import torch
import torch.nn as nn

# the frozen DFL expectation weights (0..R-1) keep their values
_KEEP = ('dfl.conv.weight', )


def reference_weights(model: nn.Module,
                      dtype: torch.dtype = torch.float16
                      ) -> Dict[str, torch.Tensor]:
    """Deterministic random weights and BN statistics for ``model``.

    Every tensor is drawn from a generator seeded by ``crc32(key)``:
    conv / linear weights ~ N(0, 1 / fan_in), biases ~ N(0, 0.1^2),
    BN scales ~ U(0.5, 1.5), shifts and running means ~ N(0, 0.1^2),
    running variances ~ U(0.5, 2), other parameters (layer scales)
    ~ N(0, 0.1^2). Values are rounded through ``dtype`` (the released
    checkpoints are fp16) and returned in the tensor's own dtype.

    Args:
        model (nn.Module): Any module; only its state-dict keys, shapes
            and BN modules are read.
        dtype (torch.dtype): Rounding dtype. Defaults to torch.float16.

    Returns:
        dict[str, Tensor]: A full state dict (``num_batches_tracked`` and
        the DFL weights as they are).
    """
    bn_keys = set()
    for name, mod in model.named_modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            prefix = f'{name}.' if name else ''
            bn_keys.update(prefix + s for s in ('weight', 'bias',
                                                'running_mean',
                                                'running_var'))
    out = {}
    for key, old in model.state_dict().items():
        if key.endswith('num_batches_tracked') or key.endswith(_KEEP):
            out[key] = old.clone()
            continue
        shape = tuple(old.shape)
        g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        leaf = key.rsplit('.', 1)[-1]
        if key in bn_keys and leaf == 'weight':
            val = torch.rand(shape, generator=g) + 0.5
        elif key in bn_keys and leaf == 'running_var':
            val = torch.rand(shape, generator=g) * 1.5 + 0.5
        elif len(shape) >= 2:
            fan_in = max(1, old.numel() // shape[0])
            val = torch.randn(shape, generator=g) / fan_in**0.5
        else:
            val = torch.randn(shape, generator=g) * 0.1
        out[key] = val.to(dtype).to(old.dtype)
    return out


def skeletonize(model: nn.Module) -> nn.Module:
    """Replace every tensor of ``model`` by a one-element storage expanded
    to its shape (in place): the pickled model keeps its classes, shapes
    and dtypes in a file of a few kB. :func:`reference_weights` refills it.
    """
    for mod in model.modules():
        for store in (mod._parameters, mod._buffers):
            for name, t in store.items():
                if t is None:
                    continue
                small = torch.zeros((), dtype=t.dtype).expand(t.shape)
                if isinstance(t, nn.Parameter):
                    store[name] = nn.Parameter(small, t.requires_grad)
                else:
                    store[name] = small
    return model
