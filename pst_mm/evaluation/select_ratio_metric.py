# Copyright (c) pst-mm contributors. All rights reserved.
"""Mean select ratio of SPT's SPA stages over an evaluation set."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS as PRETRAIN_METRICS


@METRICS.register_module()
class SelectRatioMetric(BaseMetric):
    """Averages the ``select_ratios`` that SPT models (any model with
    :class:`~pst_mm.models.losses.SelectLossMixin`) store in every
    prediction: the share of each image's tokens that SPA selected per
    stage, at inference (no noise). Reports ``select_ratio_s3``,
    ``select_ratio_s4``, ... (stages numbered from 1 as in the paper's
    Table 6); a model without SPT reports nothing.

    Args:
        collect_device (str): See :class:`BaseMetric`. Defaults to 'cpu'.
        prefix (str, optional): Metric prefix. Defaults to 'select'.
    """
    default_prefix: Optional[str] = 'select'

    def __init__(self, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            ratios = ds.get('select_ratios') if isinstance(ds, dict) else \
                ds.metainfo.get('select_ratios')
            if ratios:
                self.results.append(dict(ratios))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        sums: Dict[str, float] = defaultdict(float)
        for r in results:
            for k, v in r.items():
                sums[k] += v
        return {k: v / len(results) for k, v in sorted(sums.items())}


PRETRAIN_METRICS.register_module(module=SelectRatioMetric)

__all__ = ['SelectRatioMetric']
