# Copyright (c) pst-mm contributors. All rights reserved.
"""What SPT selects: the selection masks of all SPA blocks, summed and
drawn on an image (paper Fig. 5), and one mask per block.

    python tools/analysis_tools/visualize_spt.py CONFIG [CHECKPOINT] IMAGE --out DIR

Writes into DIR:

* ``selection_sum.png``: how many SPA blocks selected each token (warm:
  selected by many, cold: pruned before attention), over the image;
* ``selection_<i>_s<stage>.png``: the selected tokens of SPA block ``i``;
* ``selection.json``: per block its stage, stride, select ratio and mask.

Selection at inference (``sigmoid(s) > select_thr``, no noise), on this
image only: the ratios are data-dependent.
"""
import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.runner import load_checkpoint

from pst_mm.utils import build_model_from_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('paths', nargs='+', metavar='[CHECKPOINT] IMAGE')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='resize the image to this size first')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error('expected [CHECKPOINT] IMAGE')
    args.checkpoint = args.paths[0] if len(args.paths) == 2 else None
    args.image = args.paths[-1]
    return args


def _overlay(img: np.ndarray, heat: np.ndarray, vmax: float) -> np.ndarray:
    """``heat`` (token grid, padding cropped by the caller) as a jet
    colour map over ``img``; nearest upsampling keeps the token cells."""
    heat = np.clip(heat.astype(np.float32) / max(vmax, 1e-12), 0, 1)
    heat = cv2.resize(heat, (img.shape[1], img.shape[0]),
                      interpolation=cv2.INTER_NEAREST)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8),
                               cv2.COLORMAP_JET)
    return cv2.addWeighted(img, 0.5, colour, 0.5, 0)


def visualize(args) -> dict:
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {args.image}')
    if args.shape:
        img = cv2.resize(img, (args.shape[1], args.shape[0]))
    cfg, model = build_model_from_config(args.config, args.cfg_options)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    if not hasattr(getattr(model, 'backbone', None), 'last_selection'):
        raise ValueError(f'{args.config} has no SPT backbone')
    inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    batch = model.data_preprocessor(dict(inputs=[inputs]), False)['inputs']
    with torch.no_grad():
        model.backbone(batch)
    sel = model.backbone.last_selection
    H, W = img.shape[:2]
    strides = sel.strides[-len(sel.masks):]
    os.makedirs(args.out, exist_ok=True)
    # sum on the finest SPA grid (nearest upsampling of coarser masks)
    fine = min(strides)
    gh, gw = -(-H // fine), -(-W // fine)
    total = np.zeros((gh, gw), dtype=np.float32)
    blocks = []
    for i, (m, st, s) in enumerate(zip(sel.masks, sel.stages, strides)):
        mask = m[0, :-(-H // s), :-(-W // s)].numpy()
        f = s // fine
        total += np.kron(mask, np.ones((f, f)))[:gh, :gw]
        cv2.imwrite(osp.join(args.out, f'selection_{i}_s{st + 1}.png'),
                    _overlay(img, mask, 1.0))
        blocks.append(dict(block=i, stage=st + 1, stride=s,
                           select_ratio=float(mask.mean()),
                           mask=mask.astype(int).tolist()))
    cv2.imwrite(osp.join(args.out, 'selection_sum.png'),
                _overlay(img, total, len(sel.masks)))
    summary = dict(image=args.image, shape=[H, W], blocks=blocks)
    with open(osp.join(args.out, 'selection.json'), 'w') as f:
        json.dump(summary, f)
    return summary


def main(argv=None):
    args = parse_args(argv)
    summary = visualize(args)
    for b in summary['blocks']:
        print(f"SPA block {b['block']} (stage {b['stage']}, stride "
              f"{b['stride']}): {b['select_ratio']:.1%} selected")
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
