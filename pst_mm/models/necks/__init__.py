# Copyright (c) pst-mm contributors. All rights reserved.
from .a2_fpn import A2FPN, A2FPNLite
from .ac_fpn import ACFPN
from .attentional_fpn import AttentionalFPN
from .base_fpn import BaseFPN
from .pst_cls_neck import PSTClsNeck
from .pst_fpn import PSTFPN
from .sa_fpn import SAFPN
from .yolo_pst_neck import YOLOPSTNeck

__all__ = [
    'PSTFPN', 'PSTClsNeck', 'BaseFPN', 'A2FPN', 'A2FPNLite', 'AttentionalFPN',
    'ACFPN', 'SAFPN', 'YOLOPSTNeck'
]
