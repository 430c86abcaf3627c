# Copyright (c) pst-mm contributors. All rights reserved.
"""A clear error for a checkpoint file that cannot be loaded safely.

torch's own message for a broken file loaded with ``weights_only=True``
ends with "Re-running torch.load with weights_only set to False will likely
succeed": advice that would switch safe loading off for a file that is
simply truncated or not a checkpoint. :func:`check_checkpoint_file` says
what is wrong instead and never loads unsafely.
"""
import os.path as osp
import pickle

import torch

_LEGACY_MMAP = 'mmap can only be used with files saved with'


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def check_checkpoint_file(path: str):
    """Raise ``ValueError`` naming the problem when ``path`` is not a
    checkpoint that loads under ``weights_only=True``.

    The check unpickles the file's structure with ``mmap=True`` (tensors are
    not read), so it is cheap even for large checkpoints. The allowlist is
    the one ``import pst_mm`` installs (mmengine's own objects).

    Args:
        path (str): Path of the checkpoint file.

    Returns:
        The loaded (memory-mapped) checkpoint, e.g. for
        :func:`check_checkpoint_fits`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if osp.getsize(path) == 0:
        raise ValueError(f'checkpoint {path} is empty (0 bytes)')
    try:
        try:
            return torch.load(path, map_location='cpu', weights_only=True,
                              mmap=True)
        except RuntimeError as err:
            if _LEGACY_MMAP not in str(err):
                raise
            # pre-1.6 (non-zip) format: no mmap, a full load
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        msg = str(err)
        if 'Unsupported global' in msg or 'not an allowed global' in msg:
            detail = next((ln.strip() for ln in msg.splitlines()
                           if 'GLOBAL' in ln or 'global' in ln), '')
            raise ValueError(
                f'checkpoint {path} holds an object that safe loading does '
                f'not allow ({detail}): it is not a plain mmengine/pst-mm '
                'checkpoint. pst-mm keeps weights_only=True; if you trust the '
                'file, allowlist that type with '
                'torch.serialization.add_safe_globals before loading.'
            ) from None
        raise ValueError(
            f'checkpoint {path} is corrupt or not a PyTorch checkpoint '
            f'(torch: {_first_line(err)}); safe loading stays on: re-save or '
            're-download the file.') from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise ValueError(
            f'checkpoint {path} is corrupt, truncated or not a PyTorch '
            f'checkpoint (torch: {_first_line(err)}); re-save or re-download '
            'the file.') from None


def _state_dict_of(ckpt) -> dict:
    """The weights of a loaded checkpoint, as mmengine finds them."""
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        return {}
    return {(k[7:] if k.startswith('module.') else k): v
            for k, v in ckpt.items() if hasattr(v, 'shape')}


def check_checkpoint_fits(ckpt, path: str, model: torch.nn.Module) -> None:
    """Raise ``ValueError`` when the checkpoint's weights do not fit
    ``model``: a tensor of another shape, or a weight of the model the
    checkpoint lacks.

    mmengine's ``load_from`` loads non-strictly and only logs such
    mismatches, so a checkpoint of another model size (e.g. a converted
    YOLO11-N checkpoint under the S config) would be evaluated with
    randomly initialised layers.

    Args:
        ckpt: The checkpoint as :func:`check_checkpoint_file` returns it
            (memory-mapped: tensors are not read).
        path (str): Its file, named in the error.
        model (nn.Module): The model (the meta device will do).
    """
    theirs = _state_dict_of(ckpt)
    ours = model.state_dict()
    wrong = [(k, tuple(theirs[k].shape), tuple(v.shape))
             for k, v in ours.items()
             if k in theirs and tuple(theirs[k].shape) != tuple(v.shape)]
    missing = [k for k in ours if k not in theirs]
    if not wrong and not missing:
        return
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    origin = (meta or {}).get('ultralytics') if isinstance(meta, dict) \
        else None
    hint = (f'; it was converted from {origin.get("yaml_file")} (scale '
            f'{origin.get("scale")}): use the config the converter printed'
            if isinstance(origin, dict) else '')
    if wrong:
        key, got, want = wrong[0]
        raise ValueError(
            f'checkpoint {path} does not fit this config: {len(wrong)} '
            f'weights have other shapes (first: {key} is {got} in the '
            f'checkpoint, {want} in the model){hint}')
    raise ValueError(
        f'checkpoint {path} does not fit this config: it lacks '
        f'{len(missing)} of the model\'s {len(ours)} weights (first: '
        f'{missing[0]}){hint}')


__all__ = ['check_checkpoint_file', 'check_checkpoint_fits']
