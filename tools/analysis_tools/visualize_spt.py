# Copyright (c) pst-mm contributors. All rights reserved.
r"""What SPT selects: the selection masks of all SPA blocks, summed and
drawn on an image (paper Fig. 5), and one mask per block.

    python tools/analysis_tools/visualize_spt.py CONFIG [CHECKPOINT] IMAGE \
        --out DIR

Writes into DIR:

* ``selection_sum.png``: how many SPA blocks selected each token (warm:
  selected by many, cold: pruned before attention), over the image;
* ``selection_<i>_s<stage>.png``: the selected tokens of SPA block ``i``;
* ``selection.json``: per block its stage, stride, select ratio and mask.

Selection at inference (``sigmoid(s) > select_thr``, no noise), on this
image only: the ratios are data-dependent.
"""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import torch

from pst_mm.models.backbones import SPT

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from vis_utils import (jet_overlay, load_image_and_model,  # noqa: E402
                       parse_image_args, preprocess)


def parse_args(argv=None):
    return parse_image_args(__doc__.split('\n')[0], argv)


def _overlay(img: np.ndarray, heat: np.ndarray, vmax: float) -> np.ndarray:
    """``heat`` (token grid, padding cropped by the caller) as a jet
    colour map over ``img``; nearest upsampling keeps the token cells."""
    heat = np.clip(heat.astype(np.float32) / max(vmax, 1e-12), 0, 1)
    return jet_overlay(img, heat, 0.5, 0.5)


def visualize(args) -> dict:
    img, model = load_image_and_model(args)
    if not isinstance(getattr(model, 'backbone', None), SPT):
        raise ValueError(f'{args.config} has no SPT backbone')
    batch = preprocess(model, img)
    with torch.no_grad():
        _, sel = model.backbone(batch, return_select=True)
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
