# Copyright (c) pst-mm contributors. All rights reserved.
"""Selection targets from boxes, the selection-loss mixin on a detector,
and a few optimisation steps that make the gates follow the boxes."""
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

import pst_mm  # noqa: F401
from pst_mm.models.backbones import SPT
from pst_mm.models.losses import (build_select_targets, image_select_ratios,
                                  select_loss)

TINY_SPT = dict(
    type='SPT', embed_dims=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4),
    window_size=2, drop_path_rate=0., init_cfg=None)


def _sample(boxes, img_shape=(64, 96)):
    ds = DetDataSample(metainfo=dict(img_shape=img_shape,
                                     pad_shape=(96, 128)))
    ds.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.zeros(len(boxes), dtype=torch.long))
    return ds


def _cells(mask):
    return sorted(map(tuple, mask.nonzero().tolist()))


def test_targets_from_hand_placed_boxes():
    samples = [_sample([[10, 4, 30, 20]]), _sample([[16, 32, 32, 48]]),
               _sample([])]
    grids = [(12, 16), (6, 8), (3, 4)]  # a 96x128 padded batch
    t8, t16, t32 = build_select_targets(samples, grids, [8, 16, 32])
    assert t8.shape == (3, 1, 12, 16) and t32.shape == (3, 1, 3, 4)
    assert _cells(t8[0, 0]) == [(i, j) for i in (0, 1, 2) for j in (1, 2, 3)]
    assert _cells(t16[0, 0]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert _cells(t32[0, 0]) == [(0, 0)]
    # edges that only touch a cell do not select it (positive area only)
    assert _cells(t16[1, 0]) == [(2, 1)]
    assert _cells(t8[1, 0]) == [(4, 2), (4, 3), (5, 2), (5, 3)]
    # no boxes, and the batch padding: all negative
    assert t8[2].sum() == 0
    assert t8[:, :, 8:].sum() == 0 and t8[:, :, :, 12:].sum() == 0


def test_targets_follow_a_horizontal_flip():
    W = 64
    box = torch.tensor([[5., 7., 29., 40.]])
    flipped = box[:, [2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1]) + \
        torch.tensor([W, 0, W, 0])
    grids, strides = [(8, 8), (4, 4), (2, 2)], [8, 16, 32]
    a = build_select_targets([_sample(box)], grids, strides)
    b = build_select_targets([_sample(flipped)], grids, strides)
    for x, y in zip(a, b):
        assert x.sum() > 0
        assert torch.equal(x.flip(-1), y)


def _retinanet(weight=0.01, backbone=TINY_SPT):
    from mmengine.registry import init_default_scope
    from mmengine.config import ConfigDict
    init_default_scope('mmdet')
    return MODELS.build(
        ConfigDict(
            type='SPTRetinaNet',
            select_loss_weight=weight,
            data_preprocessor=dict(
                type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                pad_size_divisor=32),
            backbone=backbone,
            neck=dict(type='FPN', in_channels=[16, 32, 64, 128],
                      out_channels=16, start_level=1, num_outs=3),
            bbox_head=dict(
                type='RetinaHead', num_classes=2, in_channels=16,
                stacked_convs=1, feat_channels=16,
                anchor_generator=dict(
                    type='AnchorGenerator', octave_base_scale=4,
                    scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                    strides=[8, 16, 32]),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                loss_cls=dict(type='FocalLoss', use_sigmoid=True),
                loss_bbox=dict(type='L1Loss')),
            train_cfg=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                              neg_iou_thr=0.4, min_pos_iou=0),
                sampler=dict(type='PseudoSampler'), allowed_border=-1,
                pos_weight=-1, debug=False),
            test_cfg=dict(nms_pre=50, score_thr=0.0,
                          nms=dict(type='nms', iou_threshold=0.5),
                          max_per_img=10)))


def test_detector_loss_predict_and_tensor_modes():
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    model = _retinanet()
    packed = demo_mm_inputs(2, [(3, 64, 96), (3, 96, 64)], num_items=[2, 1],
                            num_classes=2)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    assert {'loss_select', 'select_ratio_s3', 'select_ratio_s4'} <= set(
        losses)
    assert losses['loss_select'] > 0 and losses['loss_select'].requires_grad
    sum(v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v)
        for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.gate0[1].weight.grad.abs().sum() > 0
    model.eval()
    data = model.data_preprocessor(packed, False)
    for ds in data['data_samples']:  # predict needs no ground truth
        del ds.gt_instances
    with torch.no_grad():
        preds = model(**data, mode='predict')
        feats = model(data['inputs'], mode='tensor')
    assert len(preds) == 2 and len(feats) == 2
    for p in preds:
        r = p.metainfo['select_ratios']
        assert set(r) == {'select_ratio_s3', 'select_ratio_s4'}
        assert 0 <= r['select_ratio_s3'] <= 1


def test_selection_is_handed_over_not_stored():
    """loss and predict run the backbone once, with ``return_select``; the
    backbone and the detector keep no selection afterwards."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    model = _retinanet()
    packed = demo_mm_inputs(2, [(3, 64, 96), (3, 96, 64)], num_items=[2, 1],
                            num_classes=2)
    calls = []
    model.backbone.register_forward_hook(
        lambda m, args, kwargs, out: calls.append(kwargs), with_kwargs=True)
    before = set(vars(model.backbone)) | set(vars(model))
    model.train()
    model(**model.data_preprocessor(packed, True), mode='loss')
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        model(**data, mode='predict')
        feats = model(data['inputs'], mode='tensor')
    assert calls == [dict(return_select=True)] * 2 + [{}]
    assert set(vars(model.backbone)) | set(vars(model)) == before
    assert isinstance(feats, tuple) and len(feats) == 2  # plain contract


def test_gate_gets_task_gradient_with_select_loss_weight_zero():
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    model = _retinanet(weight=0.)
    packed = demo_mm_inputs(2, [(3, 64, 96), (3, 96, 64)], num_items=[2, 1],
                            num_classes=2)
    model.train()
    blocks = [b for i in (2, 3) for b in model.backbone.stages[i].blocks]
    # eq. 4's max(gate, s_up) passes gradient only to the branch that wins:
    # record, per block, whether its own gate wins for some token
    wins = {}

    def record(block):
        def hook(module, args, out):
            s_up = args[2] if len(args) > 2 else None
            own = block.gate(block.norm1(args[0])).view_as(out[1])
            wins[block] = s_up is None or bool((own >= s_up).any())
        return hook

    handles = [b.register_forward_hook(record(b)) for b in blocks]
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    for h in handles:
        h.remove()
    assert losses['loss_select'].item() == 0  # logged, no gradient
    sum(v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v)
        for k, v in losses.items() if 'loss' in k).backward()
    grads = [float(b.gate.weight.grad.abs().max()) for b in blocks]
    assert sum(wins.values()) >= 3, wins
    for b, g in zip(blocks, grads):  # no pre-LayerNorm trap (max ~0.007)
        assert g > 1e-2 if wins[b] else g == 0, (grads, wins)


def test_select_ratios_exclude_batch_padding():
    spt = SPT(**{k: v for k, v in TINY_SPT.items() if k != 'type'}).eval()
    with torch.no_grad():
        _, sel = spt(torch.randn(1, 3, 64, 64), return_select=True)
    sel.masks[0].zero_()
    sel.masks[0][0, :2, :2] = True  # the 2x2 cells of a 32x32 image
    ds = DetDataSample(metainfo=dict(img_shape=(32, 32)))
    r = image_select_ratios(sel, [ds])[0]['select_ratio_s3']
    assert r == pytest.approx((1 + float(sel.masks[1][0, :2, :2].float()
                                         .mean())) / 2)


def test_select_loss_moves_selection_toward_the_boxes():
    # Threshold 0.5: at the paper's 0.01 a token leaves only once its gate
    # is confident (p < 0.01), which takes far more than a few steps.
    torch.manual_seed(0)
    spt = SPT(**{k: v for k, v in TINY_SPT.items() if k != 'type'},
              select_thr=0.5)
    spt.init_weights()
    x = torch.randn(2, 3, 64, 64)
    samples = [_sample([[0, 0, 24, 20]]), _sample([[40, 30, 64, 64]])]
    gates = [p for n, p in spt.named_parameters() if 'gate' in n]
    opt = torch.optim.Adam(gates, lr=0.1)

    def loss_and_targets():
        spt.train()
        _, sel = spt(x, return_select=True)
        tgt = build_select_targets(samples,
                                   [s.shape[-2:] for s in sel.logits],
                                   sel.strides)
        return select_loss(sel.logits, tgt, 1.0), tgt

    def eval_ratio():
        spt.eval()
        with torch.no_grad():
            _, ev = spt(x, return_select=True)
        return float(ev.ratios['select_ratio_s3'])

    ratio0 = eval_ratio()
    first, tgt = loss_and_targets()
    for i in range(12):
        loss = first if i == 0 else loss_and_targets()[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    last, _ = loss_and_targets()
    ratio = eval_ratio()
    box_ratio = float(torch.cat([t.flatten() for t in tgt[1:3]]).mean())
    assert float(last) < 0.5 * float(first)
    assert ratio0 > 0.4 and abs(ratio - box_ratio) < 0.5 * abs(ratio0 -
                                                               box_ratio)


def test_bad_detector_arguments():
    with pytest.raises(ValueError, match='select_loss_weight'):
        _retinanet(weight=-1)
    with pytest.raises(ValueError, match='SPT backbone'):
        _retinanet(backbone=dict(type='ResNet', depth=18))


def test_spt_configs_differ_from_swin_only_in_the_backbone():
    """Each SPT config is its Swin twin with the SPT backbone (and the
    detector type that adds the selection loss)."""
    import glob
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    pairs = []
    for spt in glob.glob(osp.join(repo, 'configs', '*', '*_spt-*.py')):
        tag = osp.basename(spt).split('_')[1]
        # SPT-T/12 (App. B.2) has Swin-T's depths: its twin is Swin-T
        swin_tag = 'swin-' + tag[len('spt-'):].replace('t12-', 't-', 1)
        swin = spt.replace(f'_{tag}_', f'_{swin_tag}_')
        assert osp.exists(swin), swin
        pairs.append((spt, swin))
    # 7 paper rows (COCO, BDD100K) and the CPU demo
    assert len(pairs) == 8, pairs
    for spt, swin in pairs:
        a = Config.fromfile(spt).to_dict()
        b = Config.fromfile(swin).to_dict()
        a.pop('spt_models', None)  # the SPT base's sizes, read by the rows
        ba, bb = a['model'].pop('backbone'), b['model'].pop('backbone')
        assert ba.pop('type') == 'SPT'
        assert bb.pop('type') == 'SwinTransformer'
        # SPT-T/S/B add four stage-3 blocks (paper Sec. 4.2)
        extra = ba['depths'][2] - bb.pop('depths')[2]
        assert extra in (0, 4), spt
        ba.pop('depths')
        assert {k: v for k, v in ba.items() if k in bb} == bb, spt
        assert a['model'].pop('type') == 'SPT' + b['model'].pop('type')
        a['model'].pop('select_loss_weight')
        assert a == b, f'{spt} and {swin} differ outside the backbone'


def test_voc_spt_config_differs_from_swin_only_in_the_backbone():
    """The VOC multi-label twins (Tables 5 and 7): same data, head and
    recipe; SPT-T (mmdet's Swin layout) against mmpretrain's Swin-T, both
    from ImageNet-1k Swin-T weights."""
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    a = Config.fromfile(osp.join(
        repo, 'configs/spt/spt-t-p4-w7_1xb16-20e_voc12-s-448px.py')).to_dict()
    b = Config.fromfile(osp.join(
        repo, 'configs/spt/swin-t-p4-w7_1xb16-20e_voc12-s-448px.py')).to_dict()
    ba, bb = a['model'].pop('backbone'), b['model'].pop('backbone')
    assert (ba['type'], bb['type']) == ('SPT', 'SwinTransformer')
    assert bb['arch'] == 'tiny' and ba['embed_dims'] == 96
    assert ba['depths'] == [2, 2, 10, 2] and ba['out_indices'] == (3, )
    assert ba['drop_path_rate'] == bb['drop_path_rate']
    assert a['model'].pop('type') == 'SPT' + b['model'].pop('type')
    assert a['model'].pop('select_loss_weight') == 0.01
    a.pop('pretrained'), b.pop('pretrained')
    a.pop('spt_models')  # the SPT base's sizes, read by the rows
    assert a == b
    # the selection labels need the boxes in every training sample
    pack = a['train_dataloader']['dataset']['pipeline'][-1]
    assert pack['algorithm_keys'] == ('gt_bboxes', )
