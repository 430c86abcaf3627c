# Copyright (c) pst-mm contributors. All rights reserved.
from typing import List, Optional, Sequence

from mmdet.registry import MODELS
from mmdet.utils import OptConfigType
from torch import Tensor

from ..layers import ContextExtraction, MeanAffinityAttention
from .base_fpn import BaseFPN


@MODELS.register_module()
class ACFPN(BaseFPN):
    """AC-FPN: attention-guided context FPN (Cao, Chen, Guo, Shi, arXiv
    2005.11475), our re-implementation as an mmdet neck.

    Follows the paper:

    - context extraction module (CEM) on C5: densely connected dilated
      branches (rates 3, 6, 12, 18, 24) plus an image-level branch
      (:class:`ContextExtraction`);
    - attention-guided module (AM) on the CEM output ``F``: context
      attention (CxAM, guided by ``F``) plus content attention (CnAM,
      guided by the top lateral map ``L5``, whose positions the dilated
      branches have not blurred), both as the mean-affinity sigmoid gates of
      the authors' release (:class:`MeanAffinityAttention`);
    - merged into the top of the top-down path:
      ``L5' = L5 + F + CxAM(F) + CnAM(F, L5)``, after which the pyramid is
      mmdet's FPN.

    Our choices: plain dilated 3x3 convs by default (the paper uses
    deformable ones in the branches; ``dilated_conv_cfg=dict(type='DCNv2')``
    switches to mmcv's modulated deformable conv, CPU and GPU; the FLOPs
    counter cannot count that op, so the tables use the default); GN(32)
    in the CEM because detection batches are 2 images per GPU; 512/256
    branch widths as the paper's release; no norm in the FPN convs and
    Xavier init, as FPN.

    Args:
        cem_mid_channels (int): Channels after each branch's 1x1 conv.
            Defaults to 512.
        cem_branch_channels (int): Output channels of each branch.
            Defaults to 256.
        dilations (Sequence[int]): Dilation of each CEM branch.
            Defaults to (3, 6, 12, 18, 24).
        dilated_conv_cfg (dict, optional): Conv config of the dilated convs.
            Defaults to None.
        cem_norm_cfg (dict, optional): Norm config of the CEM.
            Defaults to ``dict(type='GN', num_groups=32)``.
        attention_reduction (int): Query/key reduction of CxAM/CnAM.
            Defaults to 8.
        *args, **kwargs: ``in_channels``, ``out_channels``, ``num_outs``,
            ``start_level`` and the other FPN arguments of :class:`BaseFPN`.
    """

    def __init__(self,
                 *args,
                 cem_mid_channels: int = 512,
                 cem_branch_channels: int = 256,
                 dilations: Sequence[int] = (3, 6, 12, 18, 24),
                 dilated_conv_cfg: OptConfigType = None,
                 cem_norm_cfg: Optional[dict] = dict(
                     type='GN', num_groups=32),
                 attention_reduction: int = 8,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cem = ContextExtraction(
            self.used_in_channels[-1],
            self.out_channels,
            mid_channels=cem_mid_channels,
            branch_channels=cem_branch_channels,
            dilations=dilations,
            dilated_conv_cfg=dilated_conv_cfg,
            norm_cfg=cem_norm_cfg)
        self.context_attention = MeanAffinityAttention(
            self.out_channels, reduction=attention_reduction)
        self.content_attention = MeanAffinityAttention(
            self.out_channels, self.out_channels,
            reduction=attention_reduction)

    def enhance_laterals(self, feats: List[Tensor],
                         laterals: List[Tensor]) -> List[Tensor]:
        top = laterals[-1]
        context = self.cem(feats[-1])
        laterals[-1] = top + context + self.context_attention(
            context) + self.content_attention(context, guide=top)
        return laterals
