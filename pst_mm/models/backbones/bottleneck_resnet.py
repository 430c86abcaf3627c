# Copyright (c) pst-mm contributors. All rights reserved.
from mmpretrain.models.backbones import ResNet
from mmpretrain.models.backbones.resnet import Bottleneck
from mmpretrain.registry import MODELS


@MODELS.register_module()
class BottleneckResNet(ResNet):
    """ResNet built from bottleneck blocks at every depth: the backbones of
    the PST paper's classification models (Table 3).

    The authors' code builds its "R-18" with bottleneck blocks too
    (Ultralytics ``ResNetLayer``): ``depth=18`` is (2, 2, 2, 2) bottlenecks
    with a 2048-channel C5, not torchvision's BasicBlock ResNet-18 (512
    channels). Depths 50 and 101 are the usual bottleneck ResNets. Every
    other argument, the stem (7x7 conv + max-pool), ``style='pytorch'``
    (stride on the 3x3 conv), freezing and checkpoints are mmpretrain's
    :class:`ResNet`.

    One difference from the authors' blocks is kept on purpose: theirs use
    SiLU inside the convs (ReLU after the residual add), mmpretrain's
    bottleneck ReLU throughout. The parameter count is the same.

    Args:
        depth (int): 18, 50 or 101.
        **kwargs: Arguments of mmpretrain's :class:`ResNet`.
    """

    arch_settings = {
        18: (Bottleneck, (2, 2, 2, 2)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
    }

    def __init__(self, depth: int, **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'BottleneckResNet depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        super().__init__(depth, **kwargs)
