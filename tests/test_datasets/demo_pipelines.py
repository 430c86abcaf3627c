# Copyright (c) pst-mm contributors. All rights reserved.
"""Shared by the pipeline tests of this folder: a recipe's training
pipeline on the demo photographs."""
from typing import List, Sequence, Tuple

DEMO_CLASSES = ('astronaut', 'cat', 'coffee', 'rocket')


def demo_input_shapes(demo_root: str, pipeline: Sequence[dict],
                      num_items: int) -> List[Tuple[int, ...]]:
    """The input shapes of the first ``num_items`` training samples of the
    demo set through ``pipeline``; every sample's boxes must keep a
    positive width and height."""
    from mmdet.registry import DATASETS
    dataset = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=demo_root,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            metainfo=dict(classes=DEMO_CLASSES),
            pipeline=pipeline))
    shapes = []
    for i in range(num_items):
        item = dataset[i]
        shapes.append(tuple(item['inputs'].shape))
        boxes = item['data_samples'].gt_instances.bboxes
        assert (boxes.widths > 0).all() and (boxes.heights > 0).all(), i
    return shapes
