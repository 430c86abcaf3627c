# Copyright (c) pst-mm contributors. All rights reserved.
from .builder import (build_model_from_config, drop_pretrained,
                      top_level_parts)
from .checkpoint import check_checkpoint_file, check_checkpoint_fits
from .checkpoint_allowlist import allow_mmengine_checkpoints
from .config_lookup import find_config, list_configs
from .data_check import check_data_paths
from .distributed import CPUCompatibleDDP, init_distributed
from .launch import adapt_cfg_to_device

__all__ = [
    'allow_mmengine_checkpoints', 'init_distributed', 'adapt_cfg_to_device',
    'CPUCompatibleDDP', 'build_model_from_config', 'drop_pretrained',
    'top_level_parts', 'check_checkpoint_file', 'check_checkpoint_fits',
    'find_config', 'list_configs', 'check_data_paths'
]
