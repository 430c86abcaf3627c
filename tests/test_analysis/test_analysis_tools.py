# Copyright (c) pst-mm contributors. All rights reserved.
import json
import os.path as osp

import torch
from mmengine.runner import save_checkpoint

from conftest import REPO, run_tool

DET_PST = 'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py'
DET_FPN = 'configs/demo/retinanet_r18_fpn_1xb8-24e_pst-demo.py'


def test_visualizer_regions_are_the_kernels_selection(demo_det_root,
                                                      tmp_path):
    import cv2

    import pst_mm.models.layers.pst as pst_module
    from pst_mm.utils import build_model_from_config
    torch.manual_seed(3)
    _, model = build_model_from_config(osp.join(REPO, DET_PST))
    ckpt = str(tmp_path / 'model.pth')
    save_checkpoint(dict(state_dict=model.state_dict(), meta={}), ckpt)
    image = osp.join(demo_det_root, 'val', '0001.jpg')

    # What the kernel selects in the model's own forward pass (eval, top-8).
    recorded = []
    original = pst_module.pyramid_sparse_attention_parts

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        recorded.append(out)
        return out

    pst_module.pyramid_sparse_attention_parts = recording
    try:
        img = cv2.imread(image)
        inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        data = model.data_preprocessor(dict(inputs=[inputs]), False)
        with torch.no_grad():
            model.extract_feat(data['inputs'])
    finally:
        pst_module.pyramid_sparse_attention_parts = original
    names = [n for n, m in model.named_modules()
             if isinstance(m, pst_module.PyramidSparseAttention)]
    # PSTFPN runs the P4 fusion (top_down_pst.1) before P3 (top_down_pst.0).
    order = sorted(names, key=lambda n: -int(n.split('.')[2]))
    assert len(recorded) == len(order) == 2

    out = tmp_path / 'vis'
    proc = run_tool(['tools/analysis_tools/visualize_pst.py', DET_PST, ckpt,
                     image, '--out', str(out)])
    written = [line.split()[-1] for line in proc.stdout.splitlines()
               if line.startswith('wrote ')]
    for name in names:
        safe = name.replace('.', '_')
        assert str(out / f'topk_{safe}.png') in written
        assert str(out / f'scores_{safe}.png') in written
    assert cv2.imread(str(out / 'feature_neck_out0.png')).shape == img.shape
    sel = json.load(open(out / 'selection.json'))['layers']
    for name, parts in zip(order, recorded):
        for head, info in enumerate(sel[name]['heads']):
            expected = [
                i for i, ok in zip(parts.indices[0, head].tolist(),
                                   parts.valid[0, head].tolist()) if ok
            ]
            assert info['indices'] == expected and len(expected) == 8
            assert len(info['boxes']) == 8
        # 128 px input, fine grid 16x16 (P3) or 8x8 (P4): 2x2 patches are
        # 16 or 32 px boxes.
        H = sel[name]['fine_hw'][0]
        side = 2 * 128 / H
        for box in sel[name]['heads'][0]['boxes']:
            assert abs((box[2] - box[0]) - side) < 1e-6
            assert abs((box[3] - box[1]) - side) < 1e-6


def test_visualizer_bad_inputs(tmp_path):
    proc = run_tool(['tools/analysis_tools/visualize_pst.py', DET_FPN,
                     str(tmp_path / 'missing.jpg'), '--out', str(tmp_path)],
                    check=False)
    assert proc.returncode == 1 and 'cannot read image' in proc.stderr


def test_benchmark_compare_prints_ratios():
    proc = run_tool([
        'tools/analysis_tools/benchmark.py', DET_PST, '--compare', DET_FPN,
        '--shape', '64', '64', '--topk', '0', '8', '--warmup', '1',
        '--repeat', '2', '--part', 'neck'
    ])
    rows = [line.split() for line in proc.stdout.splitlines()
            if line.startswith('retinanet_')]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ('retinanet_r18_pst-n_1xb8-24e_pst-demo', '0', '-'),
        ('retinanet_r18_pst-n_1xb8-24e_pst-demo', '8', '-'),
        ('retinanet_r18_fpn_1xb8-24e_pst-demo', '-', '-'),
    ]
    assert rows[-1][-1] == '1.00x'  # the --compare config is the baseline
    for r in rows:
        assert float(r[4]) > 0 and float(r[6]) >= 0
        assert r[-1].endswith('x') and float(r[-1][:-1]) > 0
    assert 'ratio = median ms / retinanet_r18_fpn' in proc.stdout


def test_benchmark_train_step():
    proc = run_tool([
        'tools/analysis_tools/benchmark.py',
        'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py', '--shape', '64',
        '64', '--mode', 'train', '--batch', '2', '--warmup', '1', '--repeat',
        '1'
    ])
    assert proc.stdout.startswith('train, model, batch 2, shape 64x64')
    assert '1.00x' in proc.stdout


def test_plot_curves(demo_det_root, tmp_path):
    work = tmp_path / 'work'
    run_tool(['tools/train.py', DET_PST, '--work-dir', str(work),
              '--cfg-options', 'train_cfg.max_epochs=2',
              'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
              'model.test_cfg.score_thr=0.0',
              'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0',
              'val_dataloader.persistent_workers=False'],
             env=dict(PST_DEMO_DET_ROOT=demo_det_root))
    out = tmp_path / 'curves'
    proc = run_tool(['tools/analysis_tools/plot_curves.py', str(work),
                     '--out', str(out)])
    for name in ('losses.png', 'lr.png', 'val.png'):
        assert f'wrote {out / name}' in proc.stdout
        assert (out / name).stat().st_size > 1000
    missing = run_tool(['tools/analysis_tools/plot_curves.py',
                        str(tmp_path / 'nothing')], check=False)
    assert missing.returncode == 1 and 'scalars.json' in missing.stderr
