# Copyright (c) pst-mm contributors. All rights reserved.
"""What the drawing tools of this folder share (visualize_pst.py,
visualize_spt.py, plot_curves.py): the ``CONFIG [CHECKPOINT] IMAGE``
command line, one image through a model's data preprocessor, a colour-map
overlay, and the ``wrote PATH`` / ``error: ...`` reporting.

The tools put this folder on ``sys.path`` to import it (as
model_zoo_tables.py does). cv2 and the OpenMMLab stack are imported by the
functions that use them, so plot_curves.py stays a matplotlib-only tool.
"""
import argparse
import sys
from typing import Callable, Iterable, Optional, Sequence, Tuple


def parse_image_args(
        description: str,
        argv: Optional[Sequence[str]] = None,
        add_arguments: Optional[Callable[[argparse.ArgumentParser],
                                         None]] = None
) -> argparse.Namespace:
    """Parse ``CONFIG [CHECKPOINT] IMAGE --out DIR [--shape H W]
    [--cfg-options ...]``.

    Args:
        description (str): The tool's description.
        argv (Sequence[str], optional): Arguments; None = ``sys.argv``.
            Defaults to None.
        add_arguments (Callable, optional): Adds the tool's own options to
            the parser (before ``--cfg-options``). Defaults to None.

    Returns:
        argparse.Namespace: With ``checkpoint`` (None when only an image is
        given) and ``image`` set from the positional paths.
    """
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config')
    parser.add_argument('paths', nargs='+', metavar='[CHECKPOINT] IMAGE')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='resize the image to this size first')
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error('expected [CHECKPOINT] IMAGE')
    args.checkpoint = args.paths[0] if len(args.paths) == 2 else None
    args.image = args.paths[-1]
    return args


def load_image_and_model(args: argparse.Namespace) -> Tuple:
    """The image of ``args`` (BGR, resized to ``--shape``) and the config's
    model with the checkpoint loaded.

    Raises:
        FileNotFoundError: The image cannot be read.

    Returns:
        tuple: ``(img, model)``.
    """
    import cv2
    from mmengine.runner import load_checkpoint

    from pst_mm.utils import build_model_from_config
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {args.image}')
    if args.shape:
        img = cv2.resize(img, (args.shape[1], args.shape[0]))
    _, model = build_model_from_config(args.config, args.cfg_options)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    return img, model


def preprocess(model, img):
    """``img`` (HxWx3 uint8) as the model's normalised, padded batch of
    one (``mode=False``: no training-time augmentation)."""
    import torch
    inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    return model.data_preprocessor(dict(inputs=[inputs]), False)['inputs']


def jet_overlay(img, heat, img_weight: float, heat_weight: float):
    """``heat`` (values in [0, 1], any grid) as a jet colour map blended
    over ``img`` (``img_weight * img + heat_weight * colour``); nearest
    upsampling keeps the grid cells."""
    import cv2
    import numpy as np
    heat = cv2.resize(heat.astype(np.float32), (img.shape[1], img.shape[0]),
                      interpolation=cv2.INTER_NEAREST)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8),
                               cv2.COLORMAP_JET)
    return cv2.addWeighted(img, img_weight, colour, heat_weight, 0)


def report_written(write: Callable[[], Iterable[str]]) -> None:
    """Run ``write`` and print ``wrote PATH`` per file it returns; a missing
    input or a bad value exits 1 with its one-line message."""
    try:
        written = write()
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(1)
    for path in written:
        print(f'wrote {path}')
