# Copyright (c) pst-mm contributors. All rights reserved.
"""Convert an Ultralytics / P²HCT detection checkpoint (``.pt``) to a
pst-mm (mmengine) checkpoint.

    python tools/model_converters/ultralytics_to_pstmm.py SRC.pt OUT.pth

Reads the file without Ultralytics and without running code from it (a
restricted unpickler; see ``pst_mm/utils/ultralytics_checkpoint.py``),
recognises the architecture from the pickled model yaml (YOLO11 n/s/m/l/x,
the authors' yolo11-pst n/s/m and r18/r50/r101-pst), prints the config that
builds it, and writes ``state_dict`` + ``meta`` (class names, the source's
sha256, the Ultralytics version, the PST ``topk`` the file carries).
"""
import argparse
import os
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

import torch  # noqa: E402

import pst_mm  # noqa: E402,F401
from pst_mm.utils import build_model_from_config  # noqa: E402
from pst_mm.utils.ultralytics_checkpoint import (  # noqa: E402
    ARCH_CONFIGS, UltralyticsCheckpointError, convert_ultralytics,
    load_ultralytics_checkpoint, num_classes_of, recognise_architecture,
    ultralytics_meta)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert an Ultralytics/P2HCT detection checkpoint')
    parser.add_argument('src', help='Ultralytics checkpoint (.pt)')
    parser.add_argument('out', help='pst-mm checkpoint to write (.pth)')
    parser.add_argument(
        '--config',
        help='pst-mm config to convert for (default: the one that builds '
        'the recognised architecture)')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace an existing OUT')
    return parser.parse_args()


def convert(src: str, out: str, config: str = None,
            overwrite: bool = False) -> dict:
    """Convert ``src`` to ``out``; returns the written ``meta``."""
    if osp.exists(out) and not overwrite:
        raise UltralyticsCheckpointError(
            f'{out} exists; pass --overwrite to replace it')
    ckpt = load_ultralytics_checkpoint(src)
    arch = recognise_architecture(ckpt['model'].yaml, src)
    rel = ARCH_CONFIGS[arch]
    config = config or osp.join(REPO, rel)
    nc = num_classes_of(ckpt)
    options = {} if nc == 80 else {'model.bbox_head.num_classes': nc}
    _, model = build_model_from_config(config, options, device='meta')
    state_dict = convert_ultralytics(ckpt, model, src)
    meta = ultralytics_meta(ckpt, src)
    meta['ultralytics']['config'] = rel
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(meta=meta, state_dict=state_dict), out)

    info = meta['ultralytics']
    print(f'{src}: {info["yaml_file"] or arch[0]} (scale {arch[1]}), '
          f'{nc} classes, Ultralytics {info["version"]}, PST topk '
          f'{info["topk"] if info["topk"] != [] else "-"}')
    print(f'config: {osp.relpath(config, REPO) if config.startswith(REPO) else config}')  # noqa: E501
    if options:
        print('--cfg-options ' + ' '.join(f'{k}={v}'
                                          for k, v in options.items()) +
              ' (and your dataset with its classes: ' +
              ', '.join(meta['dataset_meta']['classes'][:5]) +
              (', ...' if nc > 5 else '') + ')')
    print(f'wrote {out} ({len(state_dict)} tensors)')
    return meta


def main():
    args = parse_args()
    try:
        convert(args.src, args.out, args.config, args.overwrite)
    except (UltralyticsCheckpointError, FileNotFoundError) as err:
        sys.exit(f'ultralytics_to_pstmm: {err}')


if __name__ == '__main__':
    main()
