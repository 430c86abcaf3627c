# Copyright (c) pst-mm contributors. All rights reserved.
from .conv_pool_cls_head import ConvPoolClsHead

__all__ = ['ConvPoolClsHead']
