# Copyright (c) pst-mm contributors. All rights reserved.

import numpy as np
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.hooks.hook import DATA_BATCH
from mmengine.runner import IterBasedTrainLoop

from ..optimizers import YOLOOptimWrapper


@HOOKS.register_module()
class YOLOParamSchedulerHook(Hook):
    """Learning rate, momentum and accumulation schedule of the Ultralytics
    (8.3) trainer, set before every training iteration.

    Why a hook instead of mmengine's ``param_scheduler``: during warm-up the
    reference interpolates each group linearly from a start value to
    ``initial_lr * lf(epoch)``, a target that moves every epoch, with group
    0 (biases) starting from ``warmup_bias_lr`` and the others from 0; its
    warm-up lasts ``max(round(warmup_epochs * iters_per_epoch),
    warmup_min_iters)`` iterations; and it changes the accumulation count
    with the iteration. mmengine's chained schedulers multiply the current
    value and have one start factor for all groups. Nothing else may
    schedule lr or momentum (``param_scheduler`` must be empty).

    With ``ni`` the global iteration, ``nw`` the warm-up length, ``E`` the
    number of epochs and ``lf(e) = max(1 - e / E, 0) * (1 - lrf) + lrf``
    (linear, stepped per epoch from epoch 0):

    - ``ni <= nw``: ``accumulate = max(1, round(interp(ni, [0, nw], [1,
      nbs / total_batch])))``; group ``j``'s lr ``interp(ni, [0, nw],
      [warmup_bias_lr if j == 0 else 0, initial_lr * lf(epoch)])``;
      momentum ``interp(ni, [0, nw], [warmup_momentum, momentum])``;
    - afterwards: lr ``initial_lr * lf(epoch)``, the optimizer's momentum,
      ``accumulate = max(round(nbs / total_batch), 1)``.

    ``initial_lr`` and ``initial_momentum`` are the optimizer's ``lr`` and
    ``momentum`` (stored in the groups, as torch and mmengine schedulers
    do, so a resumed run keeps them). ``nbs`` and ``total_batch`` come from
    the :class:`~pst_mm.engine.optimizers.YOLOOptimWrapper`, whose
    ``batch_size_per_gpu`` must equal the train dataloader's batch size.
    The priority is ``'HIGHEST'`` so that mmengine's ``RuntimeInfoHook``
    logs the iteration's own lr.

    Args:
        lrf (float): Final lr as a fraction of the initial one, in [0, 1].
            Defaults to 0.01.
        warmup_epochs (float): Warm-up length in epochs; 0 disables the
            warm-up. Defaults to 3.0.
        warmup_min_iters (int): Shortest warm-up in iterations (the
            reference's is 100). Defaults to 100.
        warmup_momentum (float): Momentum at the start of the warm-up, in
            [0, 1). Defaults to 0.8.
        warmup_bias_lr (float): lr of the bias group at the start of the
            warm-up. Defaults to 0.1.
    """

    priority = 'HIGHEST'

    def __init__(self,
                 lrf: float = 0.01,
                 warmup_epochs: float = 3.0,
                 warmup_min_iters: int = 100,
                 warmup_momentum: float = 0.8,
                 warmup_bias_lr: float = 0.1) -> None:
        checks = [
            ('lrf', lrf, 0 <= lrf <= 1, 'in [0, 1]'),
            ('warmup_epochs', warmup_epochs, warmup_epochs >= 0, '>= 0'),
            ('warmup_min_iters', warmup_min_iters,
             isinstance(warmup_min_iters, int)
             and not isinstance(warmup_min_iters, bool)
             and warmup_min_iters >= 1, 'an int >= 1'),
            ('warmup_momentum', warmup_momentum, 0 <= warmup_momentum < 1,
             'in [0, 1)'),
            ('warmup_bias_lr', warmup_bias_lr, warmup_bias_lr >= 0, '>= 0'),
        ]
        for name, value, ok, rule in checks:
            if not ok:
                raise ValueError(f'{name} must be {rule}, got {value!r}')
        self.lrf = lrf
        self.warmup_epochs = warmup_epochs
        self.warmup_min_iters = warmup_min_iters
        self.warmup_momentum = warmup_momentum
        self.warmup_bias_lr = warmup_bias_lr
        self.max_epochs = None
        self.warmup_iters = -1

    def lr_factor(self, epoch: int) -> float:
        """``lf(epoch)``: the linear decay from 1 to ``lrf``."""
        return max(1 - epoch / self.max_epochs, 0) * (1.0 - self.lrf) + \
            self.lrf

    def before_train(self, runner) -> None:
        """Check the runner's pieces, store the groups' initial values and
        the warm-up length."""
        wrapper = runner.optim_wrapper
        if not isinstance(wrapper, YOLOOptimWrapper):
            raise ValueError(f'YOLOParamSchedulerHook needs a '
                             f'YOLOOptimWrapper, got '
                             f'{type(wrapper).__name__}')
        schedulers = runner.param_schedulers
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        if schedulers:
            raise ValueError(f'YOLOParamSchedulerHook sets lr and momentum '
                             f'itself; param_scheduler must be empty, got '
                             f'{[type(s).__name__ for s in schedulers]}')
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            raise ValueError('YOLOParamSchedulerHook schedules per epoch; '
                             'the train loop must be epoch based')
        loader = runner.train_dataloader
        batch_size = loader.batch_size or getattr(loader.batch_sampler,
                                                  'batch_size', None)
        if batch_size is not None and batch_size != wrapper.batch_size_per_gpu:
            raise ValueError(f'optim_wrapper batch_size_per_gpu '
                             f'{wrapper.batch_size_per_gpu} does not match '
                             f'the train dataloader batch_size {batch_size}')
        for group in wrapper.optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])
            if 'momentum' in group:
                group.setdefault('initial_momentum', group['momentum'])
        self.max_epochs = runner.max_epochs
        self.warmup_iters = max(
            round(self.warmup_epochs * len(loader)),
            self.warmup_min_iters) if self.warmup_epochs > 0 else -1

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Set this iteration's lr, momentum and accumulation count."""
        wrapper = runner.optim_wrapper
        ni, lf = runner.iter, self.lr_factor(runner.epoch)
        groups = wrapper.optimizer.param_groups
        if ni <= self.warmup_iters:
            xi = [0, self.warmup_iters]
            wrapper.accumulate = max(
                1,
                int(
                    np.interp(ni, xi,
                              [1, wrapper.nbs / wrapper.total_batch]).round()))
            for j, group in enumerate(groups):
                start = self.warmup_bias_lr if j == 0 else 0.0
                group['lr'] = float(
                    np.interp(ni, xi, [start, group['initial_lr'] * lf]))
                if 'momentum' in group:
                    group['momentum'] = float(
                        np.interp(ni, xi, [
                            self.warmup_momentum, group['initial_momentum']
                        ]))
        else:
            wrapper.accumulate = wrapper.base_accumulate
            for group in groups:
                group['lr'] = group['initial_lr'] * lf
                if 'momentum' in group:
                    group['momentum'] = group['initial_momentum']
