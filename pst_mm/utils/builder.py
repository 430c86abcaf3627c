# Copyright (c) pst-mm contributors. All rights reserved.
"""Build the model of any pst-mm (or mmdet/mmpretrain) config."""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope


def drop_pretrained(cfg) -> None:
    """Set every ``init_cfg=dict(type='Pretrained', ...)`` to None, in place
    (nothing can be downloaded where tools and tests run)."""
    if isinstance(cfg, dict):
        for key, value in list(cfg.items()):
            if key == 'init_cfg' and isinstance(value, dict) and \
                    value.get('type') == 'Pretrained':
                cfg[key] = None
            else:
                drop_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for item in cfg:
            drop_pretrained(item)


def build_model_from_config(
        config: Union[str, Config],
        cfg_options: Optional[dict] = None,
        pretrained: bool = False,
        device: Optional[str] = None) -> Tuple[Config, nn.Module]:
    """Load a config and build (and initialise) its model.

    Args:
        config (str | Config): Config path or object.
        cfg_options (dict, optional): Overrides, as ``--cfg-options`` gives
            them. Defaults to None.
        pretrained (bool): Keep ``Pretrained`` init configs (downloads).
            Defaults to False.
        device (str, optional): Build on this device; ``'meta'`` builds
            the structure only (no memory, no initialisation), enough to
            read names and shapes. Defaults to None (CPU).

    Returns:
        tuple[Config, nn.Module]: The config and the model, in eval mode.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    model_cfg = ConfigDict(cfg.model.to_dict())
    # As mmengine's Runner does: a top-level data_preprocessor (mmpretrain
    # configs keep mean/std there) is the model's unless it names its own;
    # without it the model would see unnormalised pixels.
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             ConfigDict(cfg.data_preprocessor.to_dict()))
    if not pretrained:
        drop_pretrained(model_cfg)
    if scope == 'mmpretrain':
        from mmpretrain.registry import MODELS
    else:
        from mmdet.registry import MODELS
    with torch.device(device or 'cpu'):
        model = MODELS.build(model_cfg)
    if device == 'meta':
        return cfg, model.eval()
    # Without a file handler, init_weights prints one line per parameter to
    # the current logger; a WARNING-level current logger keeps tools quiet.
    # (options only on creation: mmengine warns when they are passed again)
    if not MMLogger.check_instance_created('pst_mm.builder'):
        MMLogger.get_instance('pst_mm.builder', log_level='WARNING')
    model.init_weights()
    model.eval()
    return cfg, model


def top_level_parts(model: nn.Module) -> Tuple[str, ...]:
    """Names of the parts a detector/classifier is made of."""
    return tuple(name for name in ('backbone', 'neck', 'bbox_head', 'head')
                 if getattr(model, name, None) is not None)
