# Copyright (c) pst-mm contributors. All rights reserved.
"""Export a PST-DET or PST-CLS model to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] \\
        --shape 640 640 [--topk 8] [--out model.onnx]

What is exported:

* detectors: ``model(img, mode='tensor')``, i.e. backbone, neck and head up to
  the raw head outputs (for RetinaNet: the class scores of every level, then
  the box deltas of every level), without box decoding or NMS;
* classifiers: ``model(img, mode='tensor')``, the class logits.

The input ``img`` is the batch after the data preprocessor (normalised,
padded to ``--shape``), of fixed shape (``--batch``, 3, H, W). Outputs are
named ``cls_score_<level>`` / ``bbox_pred_<level>`` (dense detection heads)
or ``cls_score`` (classifiers). PST's fine attention (``--topk`` > 0)
exports with the rest: under ``torch.onnx.export`` the PSA kernel takes its
``'naive'`` route (MatMul, Softmax, TopK, GatherElements), which has no
private fused ops. The exported model is run with onnxruntime on a random
input and compared with PyTorch (``--atol``, default 1e-4); the tool exits
with status 1 when they differ.

``--exporter dynamo`` (default) is torch's ``torch.export``-based exporter
and needs ``onnxscript``; ``--exporter torchscript`` is torch's older
tracing exporter (deprecated since torch 2.9, about 4x faster here, needs
only ``onnx``). Both are in ``requirements/optional.txt`` with
``onnxruntime``.
"""
import argparse
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import pst_mm  # noqa: E402,F401  (registers our modules, safe loading)
from pst_mm.models.layers import PyramidSparseAttention  # noqa: E402
from pst_mm.models.layers import set_pst_topk  # noqa: E402
from pst_mm.utils import build_model_from_config  # noqa: E402


def unsupported_option(model: nn.Module):
    """``(module name, option, why)`` of the first option a static ONNX
    graph cannot express, or None."""
    from pst_mm.models.backbones.spt import SPT
    for name, module in model.named_modules():
        if isinstance(module, SPT) and module.spa_stages:
            return (name, f'spa_stages={tuple(module.spa_stages)}',
                    'SPT\'s select-pack attention keeps a data-dependent '
                    'number of tokens (torch.export fails on it and a traced '
                    'graph would hard-code one image\'s selection); '
                    'spa_stages=() is a plain Swin and exports')
    return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a detector/classifier config to ONNX and check '
        'it with onnxruntime')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint (default: the initial weights)')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--batch', type=int, default=1,
                        help='batch size of the exported input')
    parser.add_argument('--topk', type=int,
                        help='PSA fine-attention top-k to export (default: '
                        'the config\'s)')
    parser.add_argument('--out', help='ONNX file (default: '
                        '<config name>.onnx in the working directory)')
    parser.add_argument('--opset', type=int, default=18,
                        help='ONNX opset version')
    parser.add_argument('--exporter', default='dynamo',
                        choices=['dynamo', 'torchscript'],
                        help='torch.onnx.export(dynamo=True) (needs '
                        'onnxscript) or the deprecated TorchScript tracer')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest allowed |onnxruntime - PyTorch|')
    parser.add_argument('--no-check', action='store_true',
                        help='skip the onnxruntime comparison')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random check input')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/test.py')
    args = parser.parse_args(argv)
    if args.batch < 1 or min(args.shape) < 1:
        parser.error(f'--batch and --shape must be positive, got '
                     f'{args.batch} and {args.shape}')
    if args.topk is not None and args.topk < 0:
        parser.error(f'--topk must be >= 0, got {args.topk}')
    return args


class TensorOutputs(nn.Module):
    """``model(img, mode='tensor')`` with its nested outputs flattened into
    a tuple of tensors (what ONNX graphs return)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor):
        return tuple(t for _, t in flatten(self.model(img, mode='tensor')))


def flatten(out, name='output'):
    """``[(name, tensor)]`` of a nested tensor / tuple / list / dict."""
    if isinstance(out, torch.Tensor):
        return [(name, out)]
    if isinstance(out, dict):
        items = list(out.items())
    else:
        items = list(enumerate(out))
    flat = []
    for key, item in items:
        flat += flatten(item, f'{name}_{key}')
    return flat


def output_names(model: nn.Module, img: torch.Tensor):
    """Names of the flattened outputs: ``cls_score_<level>`` and
    ``bbox_pred_<level>`` for a dense head's (scores, deltas) per level,
    ``cls_score`` for a classifier, ``output_<i>[_<j>]`` otherwise."""
    with torch.no_grad():
        out = model(img, mode='tensor')
    names = [name for name, _ in flatten(out)]
    if getattr(model, 'bbox_head', None) is not None and isinstance(
            out, (tuple, list)) and len(out) == 2 and all(
                isinstance(x, (tuple, list)) for x in out):
        return [f'cls_score_{i}' for i in range(len(out[0]))] + \
            [f'bbox_pred_{i}' for i in range(len(out[1]))]
    if getattr(model, 'head', None) is not None and names == ['output']:
        return ['cls_score']
    return names


def export(model: nn.Module, img: torch.Tensor, out: str, opset: int,
           exporter: str = 'dynamo') -> None:
    wrapper = TensorOutputs(model).eval()
    names = output_names(model, img)
    kwargs = dict(input_names=['img'], output_names=names,
                  opset_version=opset, verbose=False)
    if exporter == 'dynamo':
        kwargs.update(dynamo=True, external_data=False)
    else:
        kwargs.update(dynamo=False)
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter's deprecation and tracer warnings
        warnings.simplefilter('ignore')
        torch.onnx.export(wrapper, (img, ), out, **kwargs)


def compare(model: nn.Module, img: torch.Tensor, out: str):
    """Max |onnxruntime - PyTorch| per output, with the output names."""
    import onnxruntime as ort
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    with torch.no_grad():
        expected = TensorOutputs(model)(img)
    got = sess.run(None, {sess.get_inputs()[0].name: img.numpy()})
    if len(got) != len(expected):
        raise RuntimeError(f'onnxruntime returned {len(got)} outputs, '
                           f'PyTorch {len(expected)}')
    rows = []
    for meta, ref, res in zip(sess.get_outputs(), expected, got):
        res = torch.from_numpy(res)
        if tuple(res.shape) != tuple(ref.shape):
            raise RuntimeError(f'output {meta.name}: onnxruntime shape '
                               f'{tuple(res.shape)}, PyTorch '
                               f'{tuple(ref.shape)}')
        rows.append((meta.name, tuple(ref.shape),
                     float((res - ref).abs().max())))
    return rows


def main(argv=None):
    args = parse_args(argv)
    cfg, model = build_model_from_config(args.config, args.cfg_options)
    if args.checkpoint:
        from mmengine.runner import load_checkpoint

        from pst_mm.utils import check_checkpoint_file
        check_checkpoint_file(args.checkpoint)
        load_checkpoint(model, args.checkpoint, map_location='cpu',
                        logger=None)
    model.eval()
    if args.topk is not None and set_pst_topk(model, args.topk) == 0:
        raise SystemExit(f'--topk {args.topk}: {args.config} has no '
                         'Pyramid Sparse Attention to set it on')
    bad = unsupported_option(model)
    if bad is not None:
        name, option, why = bad
        raise SystemExit(f'cannot export {args.config}: {name} has {option}, '
                         f'which ONNX export does not support: {why}')
    H, W = args.shape
    img = torch.randn(args.batch, 3, H, W,
                      generator=torch.Generator().manual_seed(args.seed))
    out = args.out or osp.splitext(osp.basename(args.config))[0] + '.onnx'
    export(model, img, out, args.opset, args.exporter)
    psa = [m for m in model.modules() if isinstance(m, PyramidSparseAttention)]
    topk = sorted({m.topk for m in psa})
    print(f'exported {out} ({args.exporter} exporter): input img '
          f'{tuple(img.shape)}, opset {args.opset}' +
          (f', PSA topk {topk}' if psa else ''))
    if args.no_check:
        return
    rows = compare(model, img, out)
    worst = max(err for _, _, err in rows)
    for name, shape, err in rows:
        print(f'  {name:<12} {str(shape):<22} max |ort - torch| {err:.2e}')
    if worst > args.atol:
        print(f'onnxruntime differs from PyTorch by {worst:.2e} > '
              f'--atol {args.atol}', file=sys.stderr)
        raise SystemExit(1)
    print(f'onnxruntime matches PyTorch (max abs diff {worst:.2e} <= '
          f'{args.atol})')


if __name__ == '__main__':
    main()
