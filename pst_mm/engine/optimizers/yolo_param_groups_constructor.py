# Copyright (c) pst-mm contributors. All rights reserved.
import copy
from typing import List, Optional, Tuple

import torch
from mmdet.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                            OPTIMIZERS)
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from .yolo_optim_wrapper import YOLOOptimWrapper

# every torch.nn class whose name contains "Norm" (BatchNorm*, SyncBatchNorm,
# GroupNorm, LayerNorm, InstanceNorm*, RMSNorm, LocalResponseNorm ...): the
# reference trainer's rule for weights without decay
NORM_TYPES = tuple(cls for name, cls in vars(nn).items()
                   if isinstance(cls, type) and 'Norm' in name)


def yolo_param_groups(model: nn.Module) -> Tuple[List, List, List]:
    """Split ``model``'s parameters as the reference trainer does.

    Returns:
        tuple[list]: Biases (every parameter whose full name contains
        ``bias``), the other weights (decayed), and the weights of norm
        layers and ``logit_scale`` parameters (not decayed), each in
        ``named_modules`` order.
    """
    biases, weights, norm_weights = [], [], []
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            full_name = f'{module_name}.{name}' if module_name else name
            if 'bias' in full_name:
                biases.append(param)
            elif isinstance(module, NORM_TYPES) or 'logit_scale' in full_name:
                norm_weights.append(param)
            else:
                weights.append(param)
    return biases, weights, norm_weights


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class YOLOParamGroupsConstructor:
    """The reference (Ultralytics 8.3) trainer's optimizer: Nesterov SGD
    with three parameter groups in its order, group 0 biases (no decay;
    the group :class:`~pst_mm.engine.hooks.YOLOParamSchedulerHook` warms
    up from ``warmup_bias_lr``), group 1 the other weights (decayed),
    group 2 norm-layer weights (no decay).

    Why not mmengine's ``DefaultOptimWrapperConstructor`` with
    ``paramwise_cfg``: it keeps one group per parameter in model order (the
    bias warm-up needs the biases in one known group) and cannot scale the
    decay by the nominal batch. Here the decay is
    ``weight_decay * total_batch * base_accumulate / nbs`` with
    ``total_batch``, ``base_accumulate`` and ``nbs`` taken from the built
    :class:`YOLOOptimWrapper` (``type='YOLOOptimWrapper'`` or
    ``'YOLOAmpOptimWrapper'`` with ``batch_size_per_gpu`` and ``nbs``).
    Every parameter is in a group, trainable or not, as in the reference.

    Args:
        optim_wrapper_cfg (dict): The ``optim_wrapper`` config; its
            ``optimizer`` must be ``SGD`` with ``nesterov=True``.
        paramwise_cfg (dict, optional): Must be None (the groups are
            fixed). Defaults to None.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3),
        ...                             torch.nn.BatchNorm2d(8))
        >>> wrapper = YOLOParamGroupsConstructor(dict(
        ...     type='YOLOOptimWrapper', batch_size_per_gpu=16, nbs=64,
        ...     optimizer=dict(type='SGD', lr=0.01, momentum=0.937,
        ...                    nesterov=True, weight_decay=5e-4)))(model)
        >>> [(len(g['params']), g['weight_decay'])
        ...  for g in wrapper.optimizer.param_groups]
        [(2, 0.0), (1, 0.0005), (1, 0.0)]
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg:
            raise ValueError(f'YOLOParamGroupsConstructor builds fixed '
                             f'groups; paramwise_cfg must be None, got '
                             f'{paramwise_cfg}')
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        wrapper_type = cfg.get('type', 'OptimWrapper')
        wrapper_cls = OPTIM_WRAPPERS.get(wrapper_type) if isinstance(
            wrapper_type, str) else wrapper_type
        if not (isinstance(wrapper_cls, type)
                and issubclass(wrapper_cls, YOLOOptimWrapper)):
            raise ValueError(
                f"YOLOParamGroupsConstructor needs optim_wrapper type "
                f"'YOLOOptimWrapper' or 'YOLOAmpOptimWrapper' (for nbs and "
                f"the batch), got {wrapper_type!r}")
        optimizer_cfg = dict(cfg.pop('optimizer', None) or {})
        opt_type = optimizer_cfg.get('type')
        if opt_type not in ('SGD', torch.optim.SGD):
            raise ValueError(f"optimizer type must be 'SGD' (the reference "
                             f"recipe), got {opt_type!r}")
        if optimizer_cfg.get('nesterov') is not True:
            raise ValueError(f'optimizer nesterov must be True, got '
                             f'{optimizer_cfg.get("nesterov")!r}')
        lr = optimizer_cfg.get('lr')
        momentum = optimizer_cfg.get('momentum')
        weight_decay = optimizer_cfg.pop('weight_decay', 0.0)
        dampening = optimizer_cfg.get('dampening', 0)
        if not isinstance(lr, (int, float)) or lr <= 0:
            raise ValueError(f'optimizer lr must be > 0, got {lr!r}')
        if not isinstance(momentum, (int, float)) or not 0 < momentum < 1:
            raise ValueError(
                f'optimizer momentum must be in (0, 1), got {momentum!r}')
        if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
            raise ValueError(f'optimizer weight_decay must be >= 0, got '
                             f'{weight_decay!r}')
        if dampening != 0:
            raise ValueError(
                f'optimizer dampening must be 0, got {dampening!r}')
        self.optim_wrapper_cfg = cfg
        self.optimizer_cfg = optimizer_cfg
        self.weight_decay = weight_decay

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        biases, weights, norm_weights = yolo_param_groups(model)
        optimizer_cfg = dict(
            self.optimizer_cfg,
            params=[
                dict(params=biases, weight_decay=0.0),
                dict(params=weights, weight_decay=self.weight_decay),
                dict(params=norm_weights, weight_decay=0.0)
            ])
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        optim_wrapper = OPTIM_WRAPPERS.build(
            self.optim_wrapper_cfg, default_args=dict(optimizer=optimizer))
        # the reference's decay scaling, in its order of operations
        optimizer.param_groups[1]['weight_decay'] = (
            self.weight_decay * optim_wrapper.total_batch *
            optim_wrapper.base_accumulate / optim_wrapper.nbs)
        return optim_wrapper
