# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import EMAHook
from mmengine.hooks.hook import DATA_BATCH

from ..optimizers import YOLOOptimWrapper
from .yolo_model_ema import YOLOModelEMA  # noqa: F401 (registers it)


@HOOKS.register_module()
class YOLOEMAHook(EMAHook):
    """mmengine's :class:`~mmengine.hooks.EMAHook` with the Ultralytics
    (8.3) ``ModelEMA`` timing: a :class:`YOLOModelEMA` updated after each
    optimizer step only.

    Why not ``EMAHook`` as is: it updates every iteration, also those that
    only accumulate gradients, and its EMA is a copy of the model built
    before the weights are initialised or loaded. Here the EMA starts from
    the weights training starts from (unless a resumed checkpoint brought
    its own) and is updated in the iterations where the
    :class:`~pst_mm.engine.optimizers.YOLOOptimWrapper` stepped. Validation,
    testing and checkpoints use the EMA weights as with ``EMAHook``.

    Args:
        momentum (float): ``1 - decay``, in (0, 1). Defaults to 0.0001
            (decay 0.9999).
        gamma (int): Time constant of the decay ramp in updates, > 0.
            Defaults to 2000.
        strict_load (bool): As ``EMAHook``. Defaults to False.
    """

    def __init__(self,
                 momentum: float = 0.0001,
                 gamma: int = 2000,
                 strict_load: bool = False) -> None:
        if not 0 < momentum < 1:
            raise ValueError(f'momentum must be in (0, 1), got {momentum!r}')
        if not gamma > 0:
            raise ValueError(f'gamma must be > 0, got {gamma!r}')
        super().__init__(
            ema_type='YOLOModelEMA',
            strict_load=strict_load,
            momentum=momentum,
            gamma=gamma)

    def before_train(self, runner) -> None:
        """Check the wrapper; start the EMA from the model's weights."""
        super().before_train(runner)
        if not isinstance(runner.optim_wrapper, YOLOOptimWrapper):
            raise ValueError(f'YOLOEMAHook needs a YOLOOptimWrapper (to '
                             f'know when it steps), got '
                             f'{type(runner.optim_wrapper).__name__}')
        if int(self.ema_model.steps) == 0:
            src = self.src_model.state_dict()
            for key, value in self.ema_model.module.state_dict().items():
                value.copy_(src[key])

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Update the EMA if the optimizer stepped in this iteration."""
        if runner.optim_wrapper.last_opt_step == runner.iter:
            self.ema_model.update_parameters(self.src_model)
