# Copyright (c) pst-mm contributors. All rights reserved.
from typing import List

from mmdet.registry import MODELS
from torch import Tensor
from torch.nn import ModuleList

from ..layers import DynamicTextureAttention, ForegroundAwareCoAttention
from .base_fpn import BaseFPN


@MODELS.register_module()
class AttentionalFPN(BaseFPN):
    """AFPN: attentional feature pyramid network for small object detection
    (Min, Lee, Lee, Neural Networks 155, 2022,
    https://doi.org/10.1016/j.neunet.2022.08.029), the parts that apply to
    a one-stage detector. Not the 2023 "Asymptotic Feature Pyramid
    Network", which is also called AFPN.

    Follows the paper:

    - dynamic texture attention (DTA) in every top-down fusion: the
      upsampled semantic map is filtered and the lateral texture map is
      amplified with weights computed per image
      (:class:`DynamicTextureAttention`);
    - foreground-aware co-attention (FCA) on the outputs: features are
      enhanced by contexts correlated with the foreground of all levels,
      and background is suppressed (:class:`ForegroundAwareCoAttention`).

    Left out: the detail context attention (DCA), which re-weights RoI
    features of different scales inside a two-stage RoI head. RetinaNet
    has no RoIs, and a neck cannot reach the RoI head, so no config here
    uses it.

    Our choices where the paper is silent: DTA = SE-style channel gates on
    both maps plus a 7x7 spatial gate on the lateral map; FCA = 4 sigmoid
    foreground maps per level, each pooling one prototype, attended by every
    position of every level, with a zero-initialised residual weight so the
    neck starts as DTA-FPN; the foreground maps learn from the detection
    loss alone (a neck adds no loss); FCA on P3-P5 only (P6/P7 are made
    from C5 as in mmdet's FPN); no norm in lateral/output convs and Xavier
    init, as FPN.

    Args:
        dta_reduction (int): Bottleneck ratio of DTA's channel gates.
            Defaults to 4.
        spatial_kernel (int): Kernel of DTA's spatial gate. Defaults to 7.
        use_fca (bool): Apply the foreground-aware co-attention.
            Defaults to True.
        num_prototypes (int): Foreground prototypes per level in FCA.
            Defaults to 4.
        *args, **kwargs: ``in_channels``, ``out_channels``, ``num_outs``,
            ``start_level`` and the other FPN arguments of :class:`BaseFPN`
            (``add_extra_convs``, ``upsample_cfg``, ``init_cfg`` ...).
    """

    def __init__(self,
                 *args,
                 dta_reduction: int = 4,
                 spatial_kernel: int = 7,
                 use_fca: bool = True,
                 num_prototypes: int = 4,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dta = ModuleList(
            DynamicTextureAttention(self.out_channels, dta_reduction,
                                    spatial_kernel)
            for _ in range(self.num_levels - 1))
        self.fca = ForegroundAwareCoAttention(
            self.out_channels, num_prototypes) if use_fca else None

    def fuse(self, level: int, upper: Tensor, lateral: Tensor) -> Tensor:
        return self.dta[level](self.upsample(upper, lateral), lateral)

    def enhance_outputs(self, outs: List[Tensor]) -> List[Tensor]:
        return outs if self.fca is None else self.fca(outs)
