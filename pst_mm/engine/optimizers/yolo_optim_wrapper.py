# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Optional

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.dist import get_world_size
from mmengine.optim import OptimWrapper
from torch import nn
from torch.optim import Optimizer


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) \
        and value >= 1


@OPTIM_WRAPPERS.register_module()
class YOLOOptimWrapper(OptimWrapper):
    """Gradient accumulation as the Ultralytics (8.3) trainer does it, with
    gradient-norm clipping at 10.

    Why not mmengine's ``OptimWrapper(accumulative_counts=n)``: that one
    divides the loss by ``n``, steps every ``n``-th iteration counted from
    0 and flushes the last partial window; the reference trainer sums the
    gradients of the accumulated iterations (loss not divided), steps as
    soon as ``ni - last_opt_step >= accumulate`` (``ni`` the global
    iteration, so its first step is at iteration 0) and lets
    :class:`~pst_mm.engine.hooks.YOLOParamSchedulerHook` change
    ``accumulate`` every warm-up iteration (1 up to ``nbs / total_batch``).

    The nominal batch: ``total_batch = batch_size_per_gpu * world_size``
    (16 per GPU on 4 GPUs is the reference's batch 64) and
    ``base_accumulate = max(round(nbs / total_batch), 1)``, which
    :class:`YOLOParamGroupsConstructor` also uses to scale the weight decay.
    The losses are not multiplied by the world size here: pst-mm's
    ``YOLOv11Head`` already multiplies them by the number of images over
    all processes, which is what the reference's per-rank batch sum times
    ``world_size`` amounts to.

    The optimizer step is mmengine's (clip the gradient norm, then
    ``optimizer.step()``), the norm taken over the model's parameters in
    model order as the reference does. :attr:`last_opt_step` is the
    global iteration of the latest step, read by
    :class:`~pst_mm.engine.hooks.YOLOEMAHook` to update the EMA after real
    steps only. Under DDP, gradients are synchronised only in iterations
    that step (``optim_context``); the reference synchronises every
    iteration, which gives the same sum up to rounding.

    Args:
        optimizer (Optimizer): The optimizer (three groups from
            :class:`YOLOParamGroupsConstructor`).
        batch_size_per_gpu (int): Images per GPU per iteration (the train
            dataloader's ``batch_size``).
        nbs (int): Nominal batch size. Defaults to 64.
        clip_grad (dict, optional): ``clip_grad_norm_`` arguments.
            Defaults to None (``max_norm=10``, the reference's).
        accumulative_counts (int): Must stay 1 (``nbs`` sets the
            accumulation). Defaults to 1.
        **kwargs: Passed on to the next wrapper class in the MRO
            (``loss_scale``, ``dtype`` for :class:`YOLOAmpOptimWrapper`).

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> sgd = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> wrapper = YOLOOptimWrapper(sgd, batch_size_per_gpu=16)
        >>> wrapper.total_batch, wrapper.accumulate
        (16, 4)
    """

    def __init__(self,
                 optimizer: Optimizer,
                 batch_size_per_gpu: int,
                 nbs: int = 64,
                 clip_grad: Optional[dict] = None,
                 accumulative_counts: int = 1,
                 **kwargs) -> None:
        if not _positive_int(batch_size_per_gpu):
            raise ValueError(f'batch_size_per_gpu must be an int >= 1, got '
                             f'{batch_size_per_gpu!r}')
        if not _positive_int(nbs):
            raise ValueError(f'nbs must be an int >= 1, got {nbs!r}')
        if accumulative_counts != 1:
            raise ValueError(f'accumulative_counts must be 1 (nbs sets the '
                             f'accumulation), got {accumulative_counts!r}')
        clip_grad = dict(max_norm=10.0) if clip_grad is None else dict(
            clip_grad)
        if clip_grad.get('type', 'norm') != 'norm':
            raise ValueError(f"clip_grad type must be 'norm' (the reference "
                             f"clips the gradient norm), got "
                             f"{clip_grad['type']!r}")
        super().__init__(optimizer=optimizer, clip_grad=clip_grad, **kwargs)
        self.nbs = nbs
        self.batch_size_per_gpu = batch_size_per_gpu
        self.total_batch = batch_size_per_gpu * get_world_size()
        self.base_accumulate = max(round(nbs / self.total_batch), 1)
        self.accumulate = self.base_accumulate
        self.last_opt_step = -1
        self._clip_params = None

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss as it is: accumulated gradients are summed."""
        return loss

    def should_update(self) -> bool:
        """Step once ``accumulate`` iterations have passed since the last
        step (called after :meth:`backward` counted this iteration)."""
        return self._inner_count - 1 - self.last_opt_step >= self.accumulate

    def should_sync(self) -> bool:
        """Synchronise DDP gradients in the iterations that step (called
        before :meth:`backward`)."""
        return self._inner_count - self.last_opt_step >= self.accumulate

    def step(self, **kwargs) -> None:
        """Clip, step (both as the parent class) and record the
        iteration."""
        super().step(**kwargs)
        self.last_opt_step = self._inner_count - 1

    def initialize_count_status(self, model: nn.Module, init_counts: int,
                                max_counts: int) -> None:
        """As the parent class; the first iteration of a run (or a resumed
        run, as the reference) always steps, and the gradient norm is taken
        over ``model.parameters()`` in their order."""
        super().initialize_count_status(model, init_counts, max_counts)
        self.last_opt_step = -1
        self._clip_params = list(model.parameters())

    def _clip_grad(self) -> None:
        """Clip as the parent class, over the model's parameters in model
        order once :meth:`initialize_count_status` has seen the model (the
        reference's order: the total norm sums the per-parameter norms, so
        the order changes its last bits)."""
        if self._clip_params is None:
            return super()._clip_grad()
        params = [
            p for p in self._clip_params
            if p.requires_grad and p.grad is not None
        ]
        if params:
            grad_norm = self.clip_func(params, **self.clip_grad_kwargs)
            self.message_hub.update_scalar(f'train/{self.grad_name}',
                                           float(grad_norm))
