# Copyright (c) pst-mm contributors. All rights reserved.
"""The `yolo val` test protocol (rectangular batches, ceil resize, centred
letterbox, multi-label class-aware NMS, boxes mapped back through the pad
and one gain) against ultralytics 8.3.105's own classes and functions, on
photographs written to a temporary folder."""
import json
import os.path as osp
import random
import types

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
# (sets YOLO_OFFLINE before ultralytics is imported)
from ultralytics_reference import import_ultralytics, needs_ultralytics

import pst_mm  # noqa: F401
from pst_mm.datasets import (YOLOCocoDataset, YOLOKeepRatioResize,
                             YOLOLetterBox, rect_batch_shapes)
from pst_mm.models.dense_heads import YOLOv11Head

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CFG = osp.join(REPO, 'configs/_base_/yolo-pst_paper-recipe_coco.py')

# (h, w): ties (COCO is full of 480x640), portrait, square, thin, larger
# than 640 on either side, exactly 640 (no resize), the 333x500 whose
# height rounds up
SIZES = ([(48, 64)] * 5 + [(64, 48)] * 3 + [(100, 100)] * 2 + [
    (700, 900), (1000, 630), (640, 640), (427, 640), (333, 500), (30, 200),
    (200, 31), (640, 480), (75, 75), (120, 90), (90, 120), (480, 640)
] + [(int(h), int(w))
     for h, w in np.random.default_rng(0).integers(12, 220, (9, 2))])


@pytest.fixture(scope='module')
def photo_set(tmp_path_factory):
    """The photographs of scikit-image resized to SIZES as JPEGs under
    images/val (Ultralytics' layout), and a COCO file listing them in a
    shuffled order with shuffled ids and no boxes."""
    from skimage import data
    root = tmp_path_factory.mktemp('rect_val')
    img_dir = root / 'images' / 'val'
    img_dir.mkdir(parents=True)
    photos = [getattr(data, n)() for n in ('astronaut', 'chelsea', 'coffee',
                                           'rocket')]
    names = []
    for i, (h, w) in enumerate(SIZES):
        img = cv2.resize(photos[i % 4][..., ::-1], (w, h),
                         interpolation=cv2.INTER_AREA)
        names.append(f'{i:06d}.jpg')
        cv2.imwrite(str(img_dir / names[-1]), img)
    order = list(range(len(SIZES)))
    random.Random(0).shuffle(order)
    images = [
        dict(id=1000 - i, file_name=names[i], height=SIZES[i][0],
             width=SIZES[i][1]) for i in order
    ]
    (root / 'annotations').mkdir()
    with open(root / 'annotations' / 'val.json', 'w') as f:
        json.dump(
            dict(images=images, annotations=[],
                 categories=[dict(id=1, name='thing')]), f)
    return str(root)


def _ours(root, batch_size, pipeline=(), **kwargs):
    init_default_scope('mmdet')
    return YOLOCocoDataset(
        data_root=root,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/val/'),
        metainfo=dict(classes=('thing', )),
        test_mode=True,
        rect_batch=dict(batch_size=batch_size, img_size=640),
        pipeline=list(pipeline),
        **kwargs)


def _theirs(root, batch_size):
    import_ultralytics()
    from ultralytics.data.dataset import YOLODataset
    return YOLODataset(
        img_path=osp.join(root, 'images', 'val'),
        imgsz=640,
        batch_size=batch_size,
        augment=False,
        rect=True,
        stride=32,
        pad=0.5,
        data=dict(names={0: 'thing'}, nc=1, channels=3))


@needs_ultralytics
@pytest.mark.parametrize('batch_size', [4, 7])
def test_rect_order_and_batch_shapes_equal_ultralytics_dataset(
        photo_set, batch_size):
    theirs = _theirs(photo_set, batch_size)
    ours = _ours(photo_set, batch_size)
    assert len(ours) == len(SIZES)
    infos = [ours.get_data_info(i) for i in range(len(ours))]
    # the same images in the same order (ties included) ...
    assert [osp.basename(d['img_path']) for d in infos] == [
        osp.basename(f) for f in theirs.im_files
    ]
    # ... with the same network input shape each
    expected = theirs.batch_shapes[theirs.batch]
    np.testing.assert_array_equal([d['batch_shape'] for d in infos],
                                  expected)
    # landscape, portrait and mixed batches all occur
    shapes = {tuple(s) for s in expected.tolist()}
    assert any(h < w for h, w in shapes) and any(h > w for h, w in shapes)
    assert (672, 672) in shapes


@needs_ultralytics
@pytest.mark.parametrize('num,batch_size', [(500, 16), (301, 32), (64, 1)])
def test_rect_shapes_equal_set_rectangle_on_many_sizes(
        tmp_path, num, batch_size):
    """Ultralytics' ``set_rectangle`` run on a stand-in of its dataset
    (only the attributes it reads) against :class:`YOLOCocoDataset` on a
    COCO file of the same sizes: many ties, portrait and landscape."""
    import_ultralytics()
    from ultralytics.data.base import BaseDataset
    rng = np.random.default_rng(num)
    common = np.array([(480, 640), (640, 480), (427, 640), (640, 427),
                       (500, 375), (375, 500), (640, 640), (333, 500)])
    hw = np.where(rng.random((num, 1)) < 0.6,
                  common[rng.integers(0, len(common), num)],
                  rng.integers(10, 1200, (num, 2)))
    names = [f'{i:012d}.jpg' for i in range(num)]
    stand_in = types.SimpleNamespace(
        ni=num, batch_size=batch_size, imgsz=640, stride=32, pad=0.5,
        im_files=list(names),
        labels=[dict(shape=tuple(s), im_file=n) for s, n in zip(hw, names)])
    BaseDataset.set_rectangle(stand_in)
    expected = stand_in.batch_shapes[stand_in.batch]

    perm = rng.permutation(num)
    with open(tmp_path / 'ann.json', 'w') as f:
        json.dump(
            dict(images=[
                dict(id=int(i) + 1, file_name=names[i],
                     height=int(hw[i][0]), width=int(hw[i][1])) for i in perm
            ], annotations=[], categories=[dict(id=1, name='thing')]), f)
    ours = YOLOCocoDataset(
        data_root=str(tmp_path),
        ann_file='ann.json',
        data_prefix=dict(img=''),
        metainfo=dict(classes=('thing', )),
        test_mode=True,
        rect_batch=dict(batch_size=batch_size),
        pipeline=[])
    infos = [ours.get_data_info(i) for i in range(num)]
    assert [osp.basename(d['img_path'])
            for d in infos] == stand_in.im_files
    np.testing.assert_array_equal([d['batch_shape'] for d in infos],
                                  expected)
    # the pure function, on the sorted sizes
    sorted_hw = [hw[names.index(n)] for n in stand_in.im_files]
    np.testing.assert_array_equal(
        rect_batch_shapes(sorted_hw, batch_size, 640, 32, 0.5), expected)


@needs_ultralytics
def test_resize_and_letterbox_equal_load_image_and_letterbox(photo_set):
    """Byte for byte: LoadImageFromFile + YOLOKeepRatioResize +
    YOLOLetterBox against ``load_image`` + ``LetterBox(scaleup=False)`` for
    every image (down-scaled, up-scaled, untouched, ceil-rounded)."""
    import_ultralytics()
    from ultralytics.data.augment import LetterBox
    theirs = _theirs(photo_set, 4)
    ours = _ours(
        photo_set, 4,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='YOLOKeepRatioResize', scale=640),
            dict(type='YOLOLetterBox', size=640)
        ])
    letterbox = LetterBox(new_shape=(640, 640), scaleup=False)
    resized = set()
    for i in range(len(ours)):
        label = letterbox(theirs.get_image_and_label(i))
        out = ours[i]
        assert osp.basename(out['img_path']) == osp.basename(
            label['im_file'])
        assert out['img'].dtype == label['img'].dtype == np.uint8
        np.testing.assert_array_equal(out['img'], label['img'])
        (gain_h, gain_w), (left, top) = label['ratio_pad']
        top_, bottom, left_, right = out['pad_param'].tolist()
        assert (left_, top_) == (left, top)
        assert out['scale_factor'] == (gain_w, gain_h)
        assert out['img_shape'] == out['pad_shape'] == label['img'].shape[:2]
        assert out['ori_shape'] == label['ori_shape']
        h, w = out['img_shape']
        rh, rw = label['resized_shape']  # the batch shape
        assert (h, w) == (rh, rw)
        assert bottom - top in (0, 1) and right - left in (0, 1)
        resized.add(np.sign(gain_h - 1))
    assert resized == {-1, 0, 1}


def test_transforms_scale_and_shift_boxes_and_bad_arguments():
    from mmdet.structures.bbox import HorizontalBoxes
    img = np.zeros((333, 500, 3), np.uint8)
    res = dict(img=img, gt_bboxes=HorizontalBoxes(
        torch.tensor([[0., 0., 500., 333.]])))
    res = YOLOKeepRatioResize((640, 640))(res)
    assert res['img_shape'] == (427, 640) and res['keep_ratio']
    res['batch_shape'] = (448, 672)
    res = YOLOLetterBox(size=320)(res)  # the batch shape wins
    assert res['img_shape'] == (448, 672)
    assert res['pad_param'].tolist() == [10, 11, 16, 16]
    torch.testing.assert_close(res['gt_bboxes'].tensor,
                               torch.tensor([[16., 10., 656., 437.]]))
    # a fixed size smaller than the image: resized by r < 1, scale factor
    # multiplied, boxes rescaled before the shift
    res = YOLOKeepRatioResize(640)(dict(img=img, gt_bboxes=HorizontalBoxes(
        torch.tensor([[0., 0., 500., 333.]]))))
    res = YOLOLetterBox(size=(320, 320))(res)
    assert res['img_shape'] == (320, 320)
    # 427x640 -> round(213.5) = 214 (Python rounds half to even) x 320
    assert res['pad_param'].tolist() == [53, 53, 0, 0]
    assert res['scale_factor'] == pytest.approx((320 / 500, 214 / 333))
    torch.testing.assert_close(res['gt_bboxes'].tensor,
                               torch.tensor([[0., 53., 320., 267.]]))
    for bad in (0, (640, ), (640, -1), 1.5, True):
        with pytest.raises(ValueError, match='scale must be a positive int'):
            YOLOKeepRatioResize(bad)
        with pytest.raises(ValueError, match='size must be a positive int'):
            YOLOLetterBox(bad)
    with pytest.raises(ValueError, match='pad_val'):
        YOLOLetterBox(640, pad_val=300)
    with pytest.raises(ValueError, match="needs a 'batch_shape'"):
        YOLOLetterBox()(dict(img=img))


def test_rect_dataset_sorts_assigns_and_refuses_bad_options(photo_set):
    ours = _ours(photo_set, 4)
    infos = [ours.get_data_info(i) for i in range(len(ours))]
    ar = [d['height'] / d['width'] for d in infos]
    assert ar == sorted(ar)
    for start in range(0, len(infos), 4):  # one shape per batch
        assert len({d['batch_shape'] for d in infos[start:start + 4]}) == 1
    # rect_batch=None: CocoDataset's order (the file's), no batch shapes
    plain = YOLOCocoDataset(
        data_root=photo_set,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/val/'),
        metainfo=dict(classes=('thing', )),
        test_mode=True,
        pipeline=[])
    with open(osp.join(photo_set, 'annotations', 'val.json')) as f:
        ids = [im['id'] for im in json.load(f)['images']]
    assert [plain.get_data_info(i)['img_id']
            for i in range(len(plain))] == ids
    assert 'batch_shape' not in plain.get_data_info(0)

    bad = [(dict(batch_size=0), 'rect_batch.batch_size must be a positive'),
           (dict(img_size=640.0), 'rect_batch.img_size must be a positive'),
           (dict(pad=-1), r'rect_batch.pad must be a float >= 0'),
           (dict(stride=32), r"unknown keys \['stride'\]"),
           ([16], 'rect_batch must be a dict')]
    for rect_batch, msg in bad:
        with pytest.raises(ValueError, match=msg) as err:
            YOLOCocoDataset(rect_batch=rect_batch, test_mode=True,
                            lazy_init=True)
        assert '\n' not in str(err.value)
    with pytest.raises(ValueError, match='needs test_mode=True'):
        YOLOCocoDataset(rect_batch=dict(), lazy_init=True)


def _raw_outputs(seed, featmap_sizes, num_classes, cls_mean, cls_std):
    """Class and box-bin logits of two images; ``cls_mean`` per image."""
    g = torch.Generator().manual_seed(seed)
    mean = torch.tensor(cls_mean, dtype=torch.float).view(-1, 1, 1, 1)
    cls = [
        torch.randn(2, num_classes, h, w, generator=g) * cls_std + mean
        for h, w in featmap_sizes
    ]
    # varied box sizes: a per-prior bias on the bins of each side
    dist = [(torch.randn(2, 64, h, w, generator=g) * 2 +
             torch.randn(2, 4, 1, h, w, generator=g).mul(3).expand(
                 -1, -1, 16, -1, -1).reshape(2, 64, h, w))
            for h, w in featmap_sizes]
    return cls, dist


# about 8000 candidates per image; 70000 in the first image (NMS of 30000
# boxes takes seconds on a CPU: one image is enough)
@needs_ultralytics
@pytest.mark.parametrize('cls_mean,cls_std,many',
                         [((-8.8, -8.8), 1.2, False),
                          ((-7.0, -9.0), 1.5, True)])
def test_post_processing_equals_non_max_suppression_and_scale_boxes(
        cls_mean, cls_std, many):
    """Random raw outputs of a batch of two letterboxed images (320-pixel
    protocol: a 256x352 batch shape): our predict_by_feat against
    Ultralytics' Detect decoding, ``non_max_suppression`` (multi-label,
    conf 0.001, IoU 0.7, 300; more than ``max_nms`` = 30000 candidates in
    the second case) and the validator's ``scale_boxes`` with the
    dataset's ratio_pad."""
    import_ultralytics()
    from ultralytics.nn.modules.head import Detect
    from ultralytics.utils import ops
    nc, batch_shape = 80, (256, 352)
    featmap_sizes = [(batch_shape[0] // s, batch_shape[1] // s)
                     for s in (8, 16, 32)]
    cls, dist = _raw_outputs(int(many), featmap_sizes, nc, cls_mean,
                             cls_std)

    metas = []
    for ori in ((333, 500), (210, 320)):  # resized by 0.64 and 1
        res = YOLOKeepRatioResize(320)(
            dict(img=np.zeros(ori + (3, ), np.uint8)))
        res = YOLOLetterBox()(dict(res, batch_shape=batch_shape))
        metas.append(
            dict(ori_shape=ori, img_shape=res['img_shape'],
                 scale_factor=res['scale_factor'],
                 pad_param=res['pad_param']))
    assert [m['pad_param'].tolist() for m in metas] == [[21, 21, 16, 16],
                                                        [23, 23, 16, 16]]
    assert metas[0]['scale_factor'][1] == 214 / 333  # not 0.64

    head = YOLOv11Head(
        nc, [64, 128, 256],
        test_cfg=dict(
            nms_pre=30000,
            score_thr=0.001,
            nms=dict(type='nms', iou_threshold=0.7),
            max_per_img=300))
    ours = head.predict_by_feat(cls, dist, batch_img_metas=metas,
                                rescale=True)

    detect = Detect(nc, (64, 128, 256)).eval()
    detect.stride = torch.tensor([8.0, 16.0, 32.0])
    preds = detect._inference([torch.cat(x, 1) for x in zip(dist, cls)])
    num_candidates = (preds[:, 4:] > 0.001).sum((1, 2))
    assert (num_candidates[0] > 30000) == many
    assert (num_candidates[1] < 30000) and (num_candidates > 5000).all()
    # max_time_img: no time limit on a slow CPU (the validator's 0.05 s is
    # meant for a GPU; past it Ultralytics skips the remaining images)
    dets = ops.non_max_suppression(preds.clone(), 0.001, 0.7, nc=nc,
                                   multi_label=True, max_det=300,
                                   max_time_img=100.0)
    diffs = []
    for det, meta, pred in zip(dets, metas, ours):
        top, _, left, _ = meta['pad_param'].tolist()
        ratio_pad = ((meta['scale_factor'][1], meta['scale_factor'][0]),
                     (left, top))
        boxes = ops.scale_boxes(batch_shape, det[:, :4].clone(),
                                meta['ori_shape'], ratio_pad=ratio_pad)
        assert len(det) == len(pred) == 300
        torch.testing.assert_close(pred.labels, det[:, 5].long())
        torch.testing.assert_close(pred.scores, det[:, 4], rtol=0, atol=0)
        torch.testing.assert_close(pred.bboxes, boxes, rtol=0, atol=1e-4)
        diffs.append((pred.bboxes - boxes).abs().max().item())
    print(f'max |box difference| {max(diffs):.2e} px')  # shown with -s

    if many:
        return
    # rescale=False: the boxes in the input, clipped to it
    raw = head.predict_by_feat(cls, dist, batch_img_metas=metas)
    for det, pred in zip(dets, raw):
        ref = ops.clip_boxes(det[:, :4].clone(), batch_shape)
        torch.testing.assert_close(pred.bboxes, ref, rtol=0, atol=1e-4)


def test_post_processing_without_pad_param_keeps_mmdet_meaning():
    """Without ``pad_param`` the boxes are divided by ``scale_factor`` per
    axis and clipped to the original image; ``with_nms=False`` returns the
    candidates; a per-level ``nms_pre`` is global here."""
    head = YOLOv11Head(
        3, [16, 32], strides=(8, 16),
        test_cfg=dict(nms_pre=50, score_thr=0.3,
                      nms=dict(type='nms', iou_threshold=0.7),
                      max_per_img=10))
    cls, dist = _raw_outputs(3, [(8, 12), (4, 6)], 3, (0.0, 0.0), 1.0)
    meta = dict(ori_shape=(40, 50), img_shape=(64, 96),
                scale_factor=(96 / 50 * 0.9, 64 / 40))
    inp = head.predict_by_feat(cls, dist, batch_img_metas=[meta] * 2)
    out = head.predict_by_feat(cls, dist, batch_img_metas=[meta] * 2,
                               rescale=True)
    for a, b in zip(inp, out):
        assert 0 < len(a) <= 10
        sf = torch.tensor(meta['scale_factor']).repeat(2)
        ref = a.bboxes / sf
        ref[:, 0::2] = ref[:, 0::2].clamp(0, 50)
        ref[:, 1::2] = ref[:, 1::2].clamp(0, 40)
        # boxes clipped to the input first can only differ where clipped
        inside = (a.bboxes[:, :2] > 0).all(1) & (a.bboxes[:, 2] < 96) & (
            a.bboxes[:, 3] < 64)
        torch.testing.assert_close(b.bboxes[inside], ref[inside])
        assert (b.bboxes[:, 2] <= 50).all() and (b.bboxes[:, 3] <= 40).all()
    cands = head.predict_by_feat(cls, dist, batch_img_metas=[meta] * 2,
                                 with_nms=False)
    assert all(len(c) == 50 for c in cands)
    assert all((c.scores > 0.3).all() for c in cands)
    with pytest.raises(ValueError, match="nms type 'nms' only"):
        head.predict_by_feat(cls, dist, batch_img_metas=[meta] * 2,
                             cfg=dict(nms=dict(type='soft_nms')))


def _loader_cfg(cfg, root):
    loader = cfg.test_dataloader
    loader.update(num_workers=0, persistent_workers=False)
    loader.dataset.update(
        data_root=root,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/val/'),
        metainfo=dict(classes=('thing', )))
    return loader


def test_base_config_test_dataloader_yields_uniform_batches(
        photo_set, tmp_path):
    from mmdet.registry import MODELS
    from mmengine.runner import Runner
    init_default_scope('mmdet')
    cfg = Config.fromfile(BASE_CFG)
    assert cfg.test_dataloader.batch_size == 16
    assert cfg.test_dataloader.dataset.rect_batch.batch_size == 16
    assert cfg.test_dataloader.dataset.rect_batch.img_size == cfg.img_size
    loader = Runner.build_dataloader(_loader_cfg(cfg, photo_set))
    batch = next(iter(loader))
    shapes = {tuple(x.shape) for x in batch['inputs']}
    assert len(batch['inputs']) == 16 and len(shapes) == 1
    sample = batch['data_samples'][0]
    first = loader.dataset.get_data_info(0)
    assert shapes == {(3, ) + tuple(sample.img_shape)} == {
        (3, ) + first['batch_shape']}
    assert sample.pad_param.shape == (4, )
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    data = preprocessor(batch, False)
    assert tuple(data['inputs'].shape[-2:]) == sample.img_shape

    # the one-line switch to the mmdet-style pipeline of the header
    leaf = tmp_path / 'square.py'
    leaf.write_text(f"_base_ = '{BASE_CFG}'\n"
                    'val_dataloader = test_dataloader = '
                    '{{_base_.square_test_dataloader}}\n')
    square = Config.fromfile(str(leaf))
    assert square.test_dataloader.dataset.rect_batch is None
    assert square.val_dataloader == square.test_dataloader
    loader = Runner.build_dataloader(_loader_cfg(square, photo_set))
    sample = next(iter(loader))['data_samples'][0]
    assert 'pad_param' not in sample and max(sample.img_shape) == 640
