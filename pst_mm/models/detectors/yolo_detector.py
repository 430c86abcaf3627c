# Copyright (c) pst-mm contributors. All rights reserved.
from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig


@MODELS.register_module()
class YOLODetector(SingleStageDetector):
    """mmdet's single-stage detector with build-time width checks for the
    YOLO backbones, necks and heads of pst-mm.

    ``backbone.out_channels`` must equal ``neck.in_channels`` and
    ``neck.out_channels`` the head's ``in_channels`` (same number of levels,
    same widths); a mismatch raises ``ValueError`` naming both sides
    instead of a shape error in the first forward.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Neck config.
        bbox_head (dict): Head config.
        train_cfg (dict, optional): Training config. Defaults to None.
        test_cfg (dict, optional): Testing config. Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to None.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        pairs = [('backbone.out_channels', self.backbone, 'out_channels',
                  'neck.in_channels', self.neck, 'in_channels'),
                 ('neck.out_channels', self.neck, 'out_channels',
                  'bbox_head.in_channels', self.bbox_head, 'in_channels')]
        for name_a, a, attr_a, name_b, b, attr_b in pairs:
            got_a, got_b = getattr(a, attr_a, None), getattr(b, attr_b, None)
            if got_a is None or got_b is None:
                continue  # a module that does not state its widths
            if list(got_a) != list(got_b):
                raise ValueError(f'{name_a} {list(got_a)} does not match '
                                 f'{name_b} {list(got_b)}')
