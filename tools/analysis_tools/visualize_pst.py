# Copyright (c) pst-mm contributors. All rights reserved.
r"""Where PST looks: heatmaps, coarse score maps and the selected fine
regions of every PSA layer, drawn on an image.

    python tools/analysis_tools/visualize_pst.py CONFIG [CHECKPOINT] IMAGE \
        --out DIR

Writes into DIR:

* ``feature_<name>.png``: mean |activation| of each neck output level and
  each PST output, over the image (paper Fig. 4);
* ``scores_<psa>.png``: the PSA layer's eq. 3 coarse scores (mean over
  heads), over the image;
* ``topk_<psa>.png``: the 2x2 fine patches under the top-k coarse keys, one
  colour per head, as the kernel selected them;
* ``selection.json``: per layer and head, the kernel's coarse indices and the
  boxes drawn, in input-image pixels.
"""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import torch

from pst_mm.models.layers import (PyramidSparseAttention,
                                  PyramidSparseTransformer)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from vis_utils import (jet_overlay, load_image_and_model,  # noqa: E402
                       parse_image_args, preprocess, report_written)

HEAD_COLOURS = [(0, 255, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0),
                (0, 128, 255), (255, 255, 0), (128, 0, 255), (0, 0, 255)]


def parse_args(argv=None):
    return parse_image_args(
        __doc__.split('\n')[0], argv, lambda parser: parser.add_argument(
            '--topk', type=int,
            help='top-k to visualise (default: the config)'))


def _overlay(img, heat):
    """``heat`` min-max normalised, over ``img``."""
    heat = heat.astype(np.float32)
    heat -= heat.min()
    return jet_overlay(img, heat / max(float(heat.max()), 1e-12), 0.45, 0.55)


def _safe(name):
    return name.replace('.', '_')


def visualize(args):
    img, model = load_image_and_model(args)
    psa = {n: m for n, m in model.named_modules()
           if isinstance(m, PyramidSparseAttention)}
    if not psa:
        raise ValueError(f'{args.config} has no PyramidSparseAttention')
    pst = {n: m for n, m in model.named_modules()
           if isinstance(m, PyramidSparseTransformer)}

    captured, features, hooks = {}, {}, []
    for name, m in psa.items():
        hooks.append(m.register_forward_hook(
            lambda mod, inp, out, name=name: captured.__setitem__(name, inp)))
    for name, m in pst.items():
        hooks.append(m.register_forward_hook(
            lambda mod, inp, out, name=name: features.__setitem__(name, out)))
    batch = preprocess(model, img)
    with torch.no_grad():
        feats = model.extract_feat(batch)
    for h in hooks:
        h.remove()
    if getattr(model, 'with_neck', False):
        for i, f in enumerate(feats):
            if f.dim() == 4:
                features[f'neck_out{i}'] = f

    # Model input may be padded (size divisor): map grid cells to pixels of
    # the padded input, which starts at the image's top-left corner.
    in_h, in_w = batch.shape[-2:]
    os.makedirs(args.out, exist_ok=True)
    written, summary = [], {}
    for name, f in features.items():
        heat = f[0].abs().mean(0).numpy()
        path = osp.join(args.out, f'feature_{_safe(name)}.png')
        cv2.imwrite(path, _overlay(img, heat))
        written.append(path)
    for name, m in psa.items():
        x, upper = captured[name]
        parts = m.selection(x, upper, args.topk)
        H, W = x.shape[-2:]
        Hu, Wu = upper.shape[-2:]
        sy, sx = in_h / H, in_w / W  # pixels per fine cell
        scores = parts.scores[0].mean(0).reshape(Hu, Wu).numpy()
        path = osp.join(args.out, f'scores_{_safe(name)}.png')
        cv2.imwrite(path, _overlay(img, scores))
        written.append(path)
        canvas = img.copy()
        heads = []
        for head in range(parts.indices.shape[1]):
            boxes, indices = [], []
            for idx, ok in zip(parts.indices[0, head].tolist(),
                               parts.valid[0, head].tolist()):
                if not ok:
                    continue
                r, c = divmod(idx, Wu)
                # the 2x2 fine patch, clipped to X (odd H or W)
                x1, y1 = 2 * c * sx, 2 * r * sy
                x2 = min(2 * c + 2, W) * sx
                y2 = min(2 * r + 2, H) * sy
                boxes.append([round(v, 2) for v in (x1, y1, x2, y2)])
                indices.append(idx)
                colour = HEAD_COLOURS[head % len(HEAD_COLOURS)]
                cv2.rectangle(canvas, (int(x1), int(y1)),
                              (int(round(x2)) - 1, int(round(y2)) - 1),
                              colour, 1)
            heads.append(dict(indices=indices, boxes=boxes))
        path = osp.join(args.out, f'topk_{_safe(name)}.png')
        cv2.imwrite(path, canvas)
        written.append(path)
        summary[name] = dict(fine_hw=[H, W], coarse_hw=[Hu, Wu],
                             heads=heads)
    path = osp.join(args.out, 'selection.json')
    with open(path, 'w') as f:
        json.dump(dict(image=args.image, input_hw=[in_h, in_w],
                       layers=summary), f, indent=1)
    written.append(path)
    return written


def main(argv=None):
    args = parse_args(argv)
    report_written(lambda: visualize(args))


if __name__ == '__main__':
    main()
