# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Optional

from mmdet.models.losses import CIoULoss
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor

from ..task_modules.assigners import bbox_ciou


@MODELS.register_module()
class YOLOCIoULoss(CIoULoss):
    """``1 - CIoU`` with the aspect-ratio term always on (the YOLOv5-v11
    recipe); mmdet's :class:`CIoULoss` drops that term when IoU <= 0.5.
    Same arguments and reduction as mmdet's loss (see
    :func:`pst_mm.models.task_modules.bbox_ciou`).

    Args:
        eps (float): Numerical guard. Defaults to 1e-7.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to 'mean'.
        loss_weight (float): Loss weight. Defaults to 1.0.
    """

    def __init__(self,
                 eps: float = 1e-7,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', "
                             f'got {reduction!r}')
        super().__init__(eps=eps, reduction=reduction, loss_weight=loss_weight)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """
        Args:
            pred (Tensor): Predicted xyxy boxes (n, 4).
            target (Tensor): Target xyxy boxes (n, 4).
            weight (Tensor, optional): Per-box weight (n, ).
                Defaults to None.
            avg_factor (float, optional): Divisor of the sum.
                Defaults to None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.

        Returns:
            Tensor: The weighted loss.
        """
        reduction = reduction_override or self.reduction
        loss = 1 - bbox_ciou(pred, target, self.eps)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction,
                                                     avg_factor)
