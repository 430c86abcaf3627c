# Copyright (c) pst-mm contributors. All rights reserved.
"""End to end on real photographs: YOLO11-N trained by Ultralytics 8.3.105
itself, evaluated by ``yolo val`` and, after conversion, by
``tools/test.py``; the same COCO mAP and the same detections per image."""
import json
import os.path as osp
import sys
import textwrap

from conftest import REPO, run_tool
from ultralytics_reference import demo_as_ultralytics, needs_ultralytics

IMGSZ = 128
EPOCHS = 40  # ~1 min on 2 CPU cores
BASE = osp.join(REPO, 'configs/yolo_pst/yolo11-n_8xb16-600e_coco.py')


def _coco_ap(ann_file, results):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(ann_file)
    ev = COCOeval(gt, gt.loadRes(results), 'bbox')
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats[0], ev.stats[1]


def _config(tmp_path, data, ckpt_classes):
    cfg = tmp_path / 'yolo11-n_ultralytics-val.py'
    cfg.write_text(textwrap.dedent(f'''\
        _base_ = {BASE!r}
        model = dict(bbox_head=dict(num_classes={len(ckpt_classes)}))
        img_size = {IMGSZ}
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='YOLOKeepRatioResize', scale=img_size),
            dict(type='YOLOLetterBox', size=(img_size, img_size),
                 scaleup=False, pad_val=114),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                            'scale_factor', 'pad_param'))
        ]
        test_dataloader = dict(
            batch_size=16, num_workers=0, persistent_workers=False,
            dataset=dict(
                data_root='', ann_file={data['val_json']!r},
                data_prefix=dict(img={data['val_dir'] + '/'!r}),
                metainfo=dict(classes={tuple(ckpt_classes)!r}),
                rect_batch=dict(batch_size=16, img_size=img_size,
                                size_divisor=32, pad=0.5),
                pipeline=test_pipeline))
        test_evaluator = dict(
            ann_file={data['val_json']!r},
            outfile_prefix={str(tmp_path / 'ours')!r})
        '''))
    return str(cfg)


def _by_image(dets):
    out = {}
    for d in dets:
        out.setdefault(d['image_id'], []).append(d)
    return out


def _match(theirs, ours, px=0.5, score=1e-3):
    """Pair each detection of ``theirs`` with one of ``ours`` of the same
    class within ``px`` on every box side and ``score``.

    Returns:
        tuple: the unmatched detections of ``theirs``, and the largest box
        side and score differences over the matched pairs.
    """
    free = list(ours)
    left, worst_px, worst_score = [], 0.0, 0.0
    for d in sorted(theirs, key=lambda d: -d['score']):
        x, y, w, h = d['bbox']
        match = None
        for o in free:
            ox, oy, ow, oh = o['bbox']
            dpx = max(abs(ox - x), abs(oy - y), abs(ox + ow - x - w),
                      abs(oy + oh - y - h))
            dscore = abs(o['score'] - d['score'])
            if o['category_id'] == d['category_id'] and dscore <= score \
                    and dpx <= px:
                match = o
                worst_px = max(worst_px, dpx)
                worst_score = max(worst_score, dscore)
                break
        if match is None:
            left.append(d)
        else:
            free.remove(match)
    return left, worst_px, worst_score


@needs_ultralytics
def test_converted_ultralytics_training_evaluates_the_same(tmp_path):
    from pst_mm.datasets import build_det_demo
    demo = str(tmp_path / 'demo')
    build_det_demo(demo, num_train=32, num_val=1, img_size=IMGSZ)
    data = demo_as_ultralytics(demo, str(tmp_path / 'yolo_data'))
    work = tmp_path / 'ultralytics'
    run_tool([osp.join(REPO, 'tests', 'ultralytics_reference.py'),
              data['yaml'], str(work), str(IMGSZ), str(EPOCHS)],
             timeout=900)
    theirs = json.load(open(work / 'val' / 'predictions.json'))
    ap_theirs, ap50_theirs = _coco_ap(data['val_json'],
                                      str(work / 'val' / 'predictions.json'))
    assert ap50_theirs > 0.01, 'Ultralytics training learnt nothing'

    ckpt = tmp_path / 'yolo11n_pstmm.pth'
    proc = run_tool(['tools/model_converters/ultralytics_to_pstmm.py',
                     str(work / 'train' / 'weights' / 'last.pt'),
                     str(ckpt)])
    assert f'model.bbox_head.num_classes={len(data["classes"])}' in \
        proc.stdout
    cfg = _config(tmp_path, data, data['classes'])
    proc = run_tool(['tools/test.py', cfg, str(ckpt), '--work-dir',
                     str(tmp_path / 'work')], timeout=900)
    line = next(ln for ln in proc.stdout.splitlines()
                if ln.startswith('[pst-mm] test metrics: '))
    metrics = json.loads(line.split(': ', 1)[1])
    ours_file = str(tmp_path / 'ours.bbox.json')
    ours = json.load(open(ours_file))
    ap_ours, _ = _coco_ap(data['val_json'], ours_file)
    print(f'pycocotools bbox mAP: ultralytics {ap_theirs:.4f}, pst-mm '
          f'{ap_ours:.4f}; detections {len(theirs)} vs {len(ours)}',
          file=sys.stderr)
    assert abs(ap_ours - ap_theirs) <= 0.002
    assert abs(metrics['coco/bbox_mAP'] - ap_theirs) <= 0.002

    theirs_by, ours_by = _by_image(theirs), _by_image(ours)
    assert set(theirs_by) == set(ours_by)
    worst = [0.0, 0.0]
    for image_id, dets in theirs_by.items():
        assert len(ours_by[image_id]) == len(dets), image_id
        left, dpx, dscore = _match(dets, ours_by[image_id])
        assert left == [], image_id
        worst = [max(worst[0], dpx), max(worst[1], dscore)]
    # Ultralytics rounds its JSON boxes to 1e-3 px and scores to 1e-5
    print(f'matched detections: max box side difference {worst[0]:.4f} px, '
          f'max score difference {worst[1]:.6f}', file=sys.stderr)
