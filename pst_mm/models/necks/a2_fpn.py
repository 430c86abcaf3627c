# Copyright (c) pst-mm contributors. All rights reserved.
from typing import List

from mmdet.registry import MODELS
from torch import Tensor
from torch.nn import ModuleList

from ..layers import (ChannelReweightedSum, DualLevelReassembly,
                      MultiLevelGlobalContext)
from .base_fpn import BaseFPN


@MODELS.register_module()
class A2FPN(BaseFPN):
    """A²-FPN: attention aggregation based FPN (Hu, Li, Fang, Wang, CVPR
    2021, https://arxiv.org/abs/2105.03186), our re-implementation as an
    mmdet neck.

    Follows the paper:

    - multi-level global context: contexts collected from every backbone
      level (before the lateral convs reduce the channels) and distributed
      back to every lateral map;
    - content-aware reassembly upsampling (CARAFE-like) whose kernels are
      predicted from both adjacent levels, in plain PyTorch so it runs on
      CPU and GPU (mmcv's CARAFE is CUDA-only);
    - channel-wise re-weighting of the two maps before each element-wise
      sum of the top-down path.

    Our choices where the paper is silent or the neck serves RetinaNet:
    GCNet-style attention pooling for the collect step and one 1x1 conv per
    level for the distribute step (:class:`MultiLevelGlobalContext`); the
    kernel encoder sees the sum of both levels' 64-channel compressions at
    the fine resolution (k_up = 5, encoder 3x3, as CARAFE's defaults);
    SE-style weights from both maps' global averages; FPN's 3x3 output
    convs, no norm and Xavier init; P6/P7 exactly as mmdet's FPN
    (``add_extra_convs``). The instance-segmentation heads of the paper are
    not part of a neck.

    ::

        C_i ─1x1─> L_i ─(+ distributed global context of all C_i)─> L'_i
        T_top = L'_top;  T_i = w_a * Reassemble(T_{i+1} | kernels from
                          T_{i+1}, L'_i) + w_b * L'_i
        P_i = 3x3(T_i);  P6, P7 as mmdet's FPN

    Args:
        global_context (bool): Use the multi-level global context.
            Defaults to True.
        up_kernel (int): Reassembly kernel size. Defaults to 5.
        encoder_kernel (int): Kernel of the kernel encoder. Defaults to 3.
        compressed_channels (int): Channels of the kernel encoder input.
            Defaults to 64.
        reweight_reduction (int): Bottleneck ratio of the channel
            re-weighting MLP. Defaults to 4.
        *args, **kwargs: ``in_channels``, ``out_channels``, ``num_outs``,
            ``start_level`` and the other FPN arguments of :class:`BaseFPN`
            (``add_extra_convs``, ``norm_cfg``, ``init_cfg`` ...).

    Example:
        >>> import torch
        >>> neck = A2FPN([64, 128, 256], 32, num_outs=5,
        ...              add_extra_convs='on_input')
        >>> feats = [torch.rand(1, c, 40 // 2**i, 40 // 2**i)
        ...          for i, c in enumerate([64, 128, 256])]
        >>> [tuple(o.shape) for o in neck(feats)]
        [(1, 32, 40, 40), (1, 32, 20, 20), (1, 32, 10, 10), (1, 32, 5, 5), (1, 32, 3, 3)]
    """  # noqa: E501

    # The reassembly maps each fine pixel to the coarse pixel i // 2.
    requires_halving = True

    def __init__(self,
                 *args,
                 global_context: bool = True,
                 up_kernel: int = 5,
                 encoder_kernel: int = 3,
                 compressed_channels: int = 64,
                 reweight_reduction: int = 4,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.global_context = MultiLevelGlobalContext(
            self.used_in_channels,
            self.out_channels) if global_context else None
        self.reassembly = ModuleList(
            DualLevelReassembly(self.out_channels, up_kernel, encoder_kernel,
                                compressed_channels)
            for _ in range(self.num_levels - 1))
        self.reweight = ModuleList(
            ChannelReweightedSum(self.out_channels, reweight_reduction)
            for _ in range(self.num_levels - 1))

    def enhance_laterals(self, feats: List[Tensor],
                         laterals: List[Tensor]) -> List[Tensor]:
        if self.global_context is None:
            return laterals
        return self.global_context(feats, laterals)

    def fuse(self, level: int, upper: Tensor, lateral: Tensor) -> Tensor:
        return self.reweight[level](self.reassembly[level](upper, lateral),
                                    lateral)


@MODELS.register_module()
class A2FPNLite(A2FPN):
    """A²-FPN-Lite: :class:`A2FPN` without its costliest parts.

    The paper reports a lighter A²-FPN-Lite next to A²-FPN. In our version
    Lite drops (1) the multi-level global context (collect-distribute) and
    (2) the 3x3 kernel encoder, which becomes a 1x1 conv. It keeps the
    dual-level content-aware reassembly (k_up = 5) and the channel
    re-weighting before the sums. Everything else is :class:`A2FPN`.

    Args:
        *args, **kwargs: The arguments of :class:`A2FPN` except
            ``global_context`` (False here) and ``encoder_kernel`` (1).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, global_context=False, encoder_kernel=1,
                         **kwargs)
