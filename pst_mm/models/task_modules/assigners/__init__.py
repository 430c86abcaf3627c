# Copyright (c) pst-mm contributors. All rights reserved.
from .point_task_aligned_assigner import PointTaskAlignedAssigner, bbox_ciou

__all__ = ['PointTaskAlignedAssigner', 'bbox_ciou']
