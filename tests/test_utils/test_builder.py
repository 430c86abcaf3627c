# Copyright (c) pst-mm contributors. All rights reserved.
"""build_model_from_config builds what tools/train.py's Runner builds."""
import torch
from mmengine.config import Config

from pst_mm.utils import build_model_from_config

CLS_CFG = 'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py'


def test_top_level_data_preprocessor_is_the_models():
    """mmpretrain configs keep mean/std in a top-level data_preprocessor;
    the Runner hands it to the model, and so must the tools' builder."""
    cfg = Config.fromfile(CLS_CFG)
    _, model = build_model_from_config(CLS_CFG)
    pre = model.data_preprocessor
    assert torch.allclose(pre.mean.flatten(),
                          torch.tensor(cfg.data_preprocessor.mean))
    assert torch.allclose(pre.std.flatten(),
                          torch.tensor(cfg.data_preprocessor.std))
    assert pre.mean.abs().sum() > 0 and (pre.std != 1).any()
    # a preprocessor the model names itself wins
    cfg.model.data_preprocessor = dict(
        type='ClsDataPreprocessor', mean=[1.0, 2.0, 3.0], std=[4.0, 5.0, 6.0])
    _, model = build_model_from_config(cfg)
    assert model.data_preprocessor.mean.flatten().tolist() == [1.0, 2.0, 3.0]
