# Copyright (c) pst-mm contributors. All rights reserved.
from .builder import (build_model_from_config, drop_pretrained,
                      top_level_parts)
from .checkpoint import check_checkpoint_file, check_checkpoint_fits
from .compat import (CPUCompatibleDDP, adapt_cfg_to_device,
                     allow_mmengine_checkpoints, init_distributed)

__all__ = [
    'allow_mmengine_checkpoints', 'init_distributed', 'adapt_cfg_to_device',
    'CPUCompatibleDDP', 'build_model_from_config', 'drop_pretrained',
    'top_level_parts', 'check_checkpoint_file', 'check_checkpoint_fits'
]
