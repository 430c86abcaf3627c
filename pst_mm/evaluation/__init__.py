# Copyright (c) pst-mm contributors. All rights reserved.
from .select_ratio_metric import SelectRatioMetric

__all__ = ['SelectRatioMetric']
