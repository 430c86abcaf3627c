# Copyright (c) pst-mm contributors. All rights reserved.
from .pst_cls_neck import PSTClsNeck
from .pst_fpn import PSTFPN

__all__ = ['PSTFPN', 'PSTClsNeck']
