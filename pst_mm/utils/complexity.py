# Copyright (c) pst-mm contributors. All rights reserved.
"""Parameters and FLOPs of any model, attention included.

``mmengine.analysis.FlopAnalyzer`` counts ``F.scaled_dot_product_attention``
as zero. Here a handle counts it (and tells PSA's coarse pass, which has no
mask, from its fine pass, which has one), and the selection-score matmuls
are attributed by module. Counts follow mmengine (one multiply-add = one
MAC); FLOPs are reported as 2 x MACs, the convention of the PST paper.
"""
from collections import Counter
from typing import Any, Dict, List, Sequence

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape

from ..models.layers import PyramidSparseAttention


class _SDPAHandle:
    """MACs of ``aten::scaled_dot_product_attention``: ``L*S*(d + dv)`` per
    batch and head (``q k^T`` then ``P v``), split by mask presence."""

    def __init__(self) -> None:
        self.macs: Counter = Counter()

    def __call__(self, inputs: List[Any], outputs: List[Any]) -> int:
        q, k, v = (get_shape(x) for x in inputs[:3])
        mask = get_shape(inputs[3]) if len(inputs) > 3 else None
        lead = 1
        for s in q[:-2]:
            lead *= s
        L, d, S, dv = q[-2], q[-1], k[-2], v[-1]
        macs = lead * L * S * (d + dv)
        self.macs['fine' if mask is not None else 'coarse'] += macs
        return macs


def count_complexity(model: nn.Module, inputs: Sequence[torch.Tensor],
                     top_modules: Sequence[str] = ()) -> Dict[str, Any]:
    """Count parameters and FLOPs of ``model(*inputs)``.

    Args:
        model (nn.Module): Model to trace (its mode is used as it is).
        inputs (Sequence[Tensor]): Forward inputs.
        top_modules (Sequence[str]): Module names whose FLOPs to report
            separately (e.g. ``('backbone', 'neck', 'bbox_head')``).

    Returns:
        dict: ``params``, ``macs``, ``flops`` (= 2 x MACs), ``modules``
        (FLOPs per name in ``top_modules``) and ``attention`` (FLOPs of the
        ``coarse``, ``score`` and ``fine`` passes of every PSA, and ``spa``,
        the packed attention of the SPA blocks of models that have them,
        already included in ``flops``).
    """
    handle = _SDPAHandle()
    analyzer = FlopAnalyzer(model, tuple(inputs))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', handle)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    psa_names = [
        name for name, m in model.named_modules()
        if isinstance(m, PyramidSparseAttention)
    ]
    # Count the algorithm's passes through the portable route (public SDPA
    # for coarse and fine, one q k^T matmul for the eq. 3 scores). The fused
    # inference route computes the same scores with a second fused pass
    # (about twice the score-pass FLOPs) to keep memory at O(N + M).
    # The route is chosen explicitly, by each PSA's ``fused_scores``
    # attribute, which it passes to the kernel as an argument: the switch
    # belongs to the model being counted, so no module-level flag of the
    # kernel is flipped (another model, or thread, running meanwhile keeps
    # its route), and unlike a global store such as mmengine's message hub
    # nothing outside the model is read on every forward. Restored below.
    fused = {name: model.get_submodule(name).fused_scores
             for name in psa_names}
    # fusion='refine' re-weights the selected coarse keys with two small
    # matmuls (N x k' x d each; one when the naive route keeps A): they
    # belong to the fine pass, not to the score pass they share the op with.
    refine_macs = [0]

    def _refine_hook(module, args, _output):
        x, upper = args[:2]
        k = module.active_topk()
        if module.fusion != 'refine' or module.attn != 'softmax' or not k:
            return
        B, C, H, W = x.shape
        M = upper.shape[-2] * upper.shape[-1]
        n_mm = 1 if module.impl == 'naive' else 2
        refine_macs[0] += B * H * W * min(k, M) * C * n_mm

    hooks = [
        model.get_submodule(name).register_forward_hook(_refine_hook)
        for name in psa_names
    ]
    for name in psa_names:
        model.get_submodule(name).fused_scores = False
    try:
        total = analyzer.total()
        by_module = analyzer.by_module_and_operator()
    finally:
        for name, value in fused.items():
            model.get_submodule(name).fused_scores = value
        for hook in hooks:
            hook.remove()
    # SPT's SPA attention is a masked SDPA too: count it apart from PSA's
    # fine pass. Traced on this input, it covers the containers of the
    # tokens SPA selected for it (data-dependent).
    spa_names = [
        name for name, m in model.named_modules()
        if type(m).__name__ == 'SPABlock'
    ]
    spa = sum(
        by_module.get(name, {}).get('scaled_dot_product_attention', 0)
        for name in spa_names)
    # Matmuls inside a softmax PSA are the chunked eq. 3 score pass.
    score = sum(
        by_module.get(name, {}).get('matmul', 0) for name in psa_names
        if getattr(model.get_submodule(name), 'attn', 'softmax') == 'softmax')
    # the hook ran once per trace (FlopAnalyzer traces the model once)
    score -= refine_macs[0]
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        macs=total,
        flops=2 * total,
        modules={
            name: 2 * sum(by_module.get(name, {}).values())
            for name in top_modules
        },
        attention=dict(
            coarse=2 * handle.macs['coarse'],
            score=2 * score,
            fine=2 * (handle.macs['fine'] - spa + refine_macs[0]),
            **(dict(spa=2 * spa) if spa_names else {})))


class TensorModeWrapper(nn.Module):
    """Calls an OpenMMLab model in ``mode='tensor'`` (no NMS/post-processing)
    so that it can be traced from a plain input tensor."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, mode='tensor')


__all__: List[str] = ['count_complexity', 'TensorModeWrapper']
