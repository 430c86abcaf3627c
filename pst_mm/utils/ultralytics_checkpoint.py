# Copyright (c) pst-mm contributors. All rights reserved.
"""Read Ultralytics / P²HCT detection checkpoints without Ultralytics and
without running code from the file, and convert them to pst-mm state dicts.

An Ultralytics ``.pt`` pickles the whole ``DetectionModel``, so a plain
``torch.load`` needs the ``ultralytics`` package and ``weights_only=True``
refuses the file. :func:`load_ultralytics_checkpoint` unpickles it with a
restricted unpickler instead: tensors, ``torch.nn`` modules and plain
containers are rebuilt, every ``ultralytics.*`` class becomes an inert
placeholder module that only holds its pickled state, and any other global
(``os.system``, ``eval``, ...) is refused before anything is called.

:func:`convert_ultralytics` recognises the architecture from the pickled
model yaml, renames the layers to the pst-mm modules of the matching config
(:data:`ARCH_CONFIGS`) and permutes the PST key/value channels: the authors'
``PSAttn`` lays out its ``kv`` conv per head as ``[k_h | v_h]``, pst-mm as
``[all K | all V]``. The permutation lives here, once, so pst-mm's own
checkpoints keep loading unchanged; training from scratch is unaffected
(it only relabels channels).

Nothing here imports Ultralytics (AGPL-3.0); the layouts were read from
ultralytics 8.3.105 and the authors' code, and the parity tests check the
result against both.
"""
import hashlib
import importlib
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

#: the Ultralytics release whose checkpoints the parity tests cover
TESTED_ULTRALYTICS = '8.3.105'

#: (family, scale) -> pst-mm config (relative to the repository root)
ARCH_CONFIGS = {
    **{('yolo11', s): f'configs/yolo_pst/yolo11-{s}_8xb16-600e_coco.py'
       for s in 'nsmlx'},
    **{('yolo11-pst', s):
       f'configs/yolo_pst/yolo11-pst-{s}_8xb16-600e_coco.py'
       for s in 'nsm'},
    ('r18-pst', 'n'): 'configs/yolo_pst/yolo_r18_pst-n_8xb16-600e_coco.py',
    ('r50-pst', 'n'): 'configs/yolo_pst/yolo_r50_pst-n_8xb16-600e_coco.py',
    ('r101-pst', 's'): 'configs/yolo_pst/yolo_r101_pst-s_8xb16-600e_coco.py',
}

_UP, _CAT = 'nn.Upsample', 'Concat'
# layer types of each family's yaml (backbone + head), in order
_FAMILIES = {
    'yolo11': ['Conv', 'Conv', 'C3k2', 'Conv', 'C3k2', 'Conv', 'C3k2',
               'Conv', 'C3k2', 'SPPF', 'C2PSA', _UP, _CAT, 'C3k2', _UP, _CAT,
               'C3k2', 'Conv', _CAT, 'C3k2', 'Conv', _CAT, 'C3k2', 'Detect'],
    'yolo11-pst': ['Conv', 'Conv', 'C3k2', 'Conv', 'C3k2', 'Conv', 'A2C2f',
                   'Conv', 'A2C2f', _UP, _CAT, 'PST', _UP, _CAT, 'PST',
                   'Conv', _CAT, 'A2C2f', 'Conv', _CAT, 'C3k2', 'Detect'],
    'r-pst': ['ResNetLayer'] * 5 + [
        'Conv', 'A2C2f', _UP, _CAT, 'PST', _UP, _CAT, 'PST', 'Conv', _CAT,
        'A2C2f', 'Conv', _CAT, 'C3k2', 'Detect'
    ],
}
_RESNET_DEPTHS = {(2, 2, 2, 2): 18, (3, 4, 6, 3): 50, (3, 4, 23, 3): 101}
# head types Ultralytics uses for other tasks: named in the error
_OTHER_TASKS = {
    'Segment': 'segmentation', 'Pose': 'pose', 'OBB': 'oriented-box',
    'Classify': 'classification', 'WorldDetect': 'open-vocabulary',
    'YOLOEDetect': 'open-vocabulary', 'YOLOESegment': 'segmentation',
    'RTDETRDecoder': 'RT-DETR', 'v10Detect': 'YOLOv10'
}

# Per Ultralytics class: child path (regex, one or more segments) -> the
# pst-mm path ('' drops the segment). Unlisted children keep their names.
_RENAMES: Dict[str, List[Tuple[str, str]]] = {
    'C2f': [('cv1', 'conv1'), ('cv2', 'conv2'), ('m', 'blocks')],
    'C3k2': [('cv1', 'conv1'), ('cv2', 'conv2'), ('m', 'blocks')],
    'A2C2f': [('cv1', 'conv1'), ('cv2', 'conv2'), ('m', 'blocks')],
    'C2PSA': [('cv1', 'conv1'), ('cv2', 'conv2'), ('m', 'blocks')],
    'C3k': [('cv1', 'main_conv'), ('cv2', 'short_conv'),
            ('cv3', 'final_conv'), ('m', 'blocks')],
    'Bottleneck': [('cv1', 'conv1'), ('cv2', 'conv2')],
    'SPPF': [('cv1', 'conv1'), ('cv2', 'conv2')],
    'PSABlock': [('ffn', 'mlp')],
    'PST': [('cv1', 'in_conv'), ('cvup', 'upper_conv'), ('cv2', 'out_conv'),
            (r'attnlayer_(\d+)', r'blocks.\1')],
    'PSAttn': [('gate_conv1d', 'gate')],
    'ResNetLayer': [('layer', '')],
    'ResNetBlock': [('cv1', 'conv1'), ('cv2', 'conv2'), ('cv3', 'conv3'),
                    (r'shortcut\.0', 'shortcut')],
    'Detect': [('cv2', 'reg_convs'), ('cv3', 'cls_convs')],
}


class UltralyticsCheckpointError(ValueError):
    """A file that is not a convertible Ultralytics detection checkpoint;
    the message is one line that names the file and the problem."""


class UltralyticsObject(nn.Module):
    """Inert stand-in for a pickled Ultralytics class.

    It only holds the pickled state (an ``nn.Module`` state for the model
    classes, the attributes of anything else); calling it raises.
    """

    ultralytics_name = 'ultralytics'

    def __init__(self, *args, **kwargs) -> None:
        # Pickles only call this with their own arguments: keep nothing.
        super().__init__()

    def forward(self, *args, **kwargs):
        raise RuntimeError(
            f'{self.ultralytics_name} is an inert placeholder read from an '
            'Ultralytics checkpoint; convert the checkpoint and build the '
            'pst-mm config instead')


def _torch_global(module: str, name: str):
    """The torch objects a pickled Ultralytics model may reference, or
    None."""
    if module == 'torch._utils' and name in (
            '_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter',
            '_rebuild_parameter_with_state'):
        return getattr(torch._utils, name)
    if module == 'torch' and name in ('Size', 'device'):
        return getattr(torch, name)
    if module == 'torch' and isinstance(getattr(torch, name, None),
                                        torch.dtype):
        return getattr(torch, name)
    if module.startswith('torch.nn.modules.'):
        try:
            obj = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            return None
        # classes only: rebuilt with __new__ + __setstate__, never called
        if isinstance(obj, type) and issubclass(obj, nn.Module):
            return obj
    return None


_PLAIN = {
    ('collections', 'OrderedDict'): OrderedDict,
    ('builtins', 'set'): set,
    ('__builtin__', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('__builtin__', 'frozenset'): frozenset,
}


def _path_class(module: str, name: str):
    if module in ('pathlib', 'pathlib._local') and name in (
            'Path', 'PosixPath', 'WindowsPath', 'PurePath', 'PurePosixPath',
            'PureWindowsPath'):
        return getattr(importlib.import_module('pathlib'), name)
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    """See the module docstring; ``persistent_load`` is set by torch."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._placeholders: Dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _PLAIN:
            return _PLAIN[(module, name)]
        found = _torch_global(module, name) or _path_class(module, name)
        if found is not None:
            return found
        if module == 'ultralytics' or module.startswith('ultralytics.'):
            full = f'{module}.{name}'
            if full not in self._placeholders:
                self._placeholders[full] = type(
                    name, (UltralyticsObject, ),
                    dict(ultralytics_name=full, __module__=__name__))
            return self._placeholders[full]
        raise pickle.UnpicklingError(
            f'refused global {module}.{name}: not a tensor, torch module, '
            'plain container or Ultralytics class')


class _RestrictedPickleModule:
    """What ``torch.load(pickle_module=...)`` needs."""
    Unpickler = _RestrictedUnpickler
    load = None  # torch only uses Unpickler
    __name__ = 'pst_mm_restricted_pickle'


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _class_name(obj) -> str:
    return getattr(obj, 'ultralytics_name', type(obj).__module__ + '.' +
                   type(obj).__name__)


def load_ultralytics_checkpoint(path: str) -> dict:
    """Unpickle an Ultralytics checkpoint safely.

    Args:
        path (str): The ``.pt`` file.

    Returns:
        dict: The checkpoint dict; ``'model'`` is the detection model
        (``ema`` when the file holds one, as Ultralytics loads it) made of
        torch modules and :class:`UltralyticsObject` placeholders, and
        ``'sha256'`` the file's digest.

    Raises:
        UltralyticsCheckpointError: A missing, truncated or corrupt file, a
            pickle that references anything outside the allowlist, or a
            file that is not an Ultralytics detection checkpoint.
    """
    if not osp.isfile(path):
        raise UltralyticsCheckpointError(f'{path}: no such file')
    try:
        ckpt = torch.load(
            path,
            map_location='cpu',
            pickle_module=_RestrictedPickleModule,
            weights_only=False)  # safe: every global goes through find_class
    except pickle.UnpicklingError as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else ''
        if msg.startswith('refused global'):
            raise UltralyticsCheckpointError(
                f'{path}: {msg}; nothing from the file was run') from None
        raise UltralyticsCheckpointError(
            f'{path}: corrupt or not a PyTorch checkpoint ({msg})') from None
    except (RuntimeError, EOFError, OSError, ValueError, TypeError,
            AttributeError, IndexError, KeyError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UltralyticsCheckpointError(
            f'{path}: truncated, corrupt or not a PyTorch checkpoint '
            f'({first})') from None
    if not isinstance(ckpt, dict) or not (ckpt.get('ema') is not None
                                          or ckpt.get('model') is not None):
        keys = sorted(ckpt)[:6] if isinstance(ckpt, dict) else type(
            ckpt).__name__
        raise UltralyticsCheckpointError(
            f'{path}: not an Ultralytics checkpoint (no model or ema entry; '
            f'found {keys})')
    model = ckpt['ema'] if ckpt.get('ema') is not None else ckpt['model']
    name = _class_name(model)
    if not isinstance(model, UltralyticsObject) or not isinstance(
            getattr(model, 'yaml', None), dict):
        raise UltralyticsCheckpointError(
            f'{path}: not an Ultralytics checkpoint (its model is {name})')
    if name.rsplit('.', 1)[-1] != 'DetectionModel':
        raise UltralyticsCheckpointError(
            f'{path}: an Ultralytics {name.rsplit(".", 1)[-1]} checkpoint; '
            'only detection models (DetectionModel) convert')
    ckpt['model'] = model
    ckpt['sha256'] = _sha256(path)
    return ckpt


def _layer_types(yaml: dict) -> List[str]:
    layers = list(yaml.get('backbone') or []) + list(yaml.get('head') or [])
    return [str(layer[2]) for layer in layers]


def recognise_architecture(yaml: dict, source: str = 'checkpoint'
                           ) -> Tuple[str, str]:
    """The (family, scale) of an Ultralytics model yaml.

    Args:
        yaml (dict): The pickled ``model.yaml``.
        source (str): Name used in errors. Defaults to 'checkpoint'.

    Returns:
        tuple[str, str]: A key of :data:`ARCH_CONFIGS`.
    """
    types = _layer_types(yaml)
    if types and types[-1] in _OTHER_TASKS:
        raise UltralyticsCheckpointError(
            f'{source}: an Ultralytics {_OTHER_TASKS[types[-1]]} model '
            f'({types[-1]} head); only detection models convert')
    scale = yaml.get('scale')
    family = next((f for f, t in _FAMILIES.items() if t == types), None)
    if family == 'r-pst':
        repeats = tuple(int(layer[3][4]) if len(layer[3]) > 4 else 1
                        for layer in yaml['backbone'][1:5])
        depth = _RESNET_DEPTHS.get(repeats)
        family = f'r{depth}-pst' if depth else None
    yaml_file = osp.basename(str(yaml.get('yaml_file', '?')))
    if family is None:
        raise UltralyticsCheckpointError(
            f'{source}: architecture {yaml_file!r} is not one pst-mm builds '
            f'(layers {" ".join(types) or "none"}); supported: YOLO11 '
            'n/s/m/l/x, yolo11-pst n/s/m, r18/r50/r101-pst')
    if (family, scale) not in ARCH_CONFIGS:
        raise UltralyticsCheckpointError(
            f'{source}: {family} at scale {scale!r} has no pst-mm config; '
            f'supported scales: '
            f'{sorted(s for f, s in ARCH_CONFIGS if f == family)}')
    return family, scale


def _rename(module: nn.Module, key: str) -> str:
    """The pst-mm name of ``key`` (relative to ``module``)."""
    cls = _class_name(module).rsplit('.', 1)[-1]
    for pattern, repl in _RENAMES.get(cls, []):
        m = re.match(rf'({pattern})\.(.*)$', key)
        if m:
            child = module
            for seg in m.group(1).split('.'):
                child = child._modules[seg]
            head = re.sub(rf'^{pattern}$', repl, m.group(1))
            tail = _rename(child, m.group(m.lastindex))
            return f'{head}.{tail}' if head else tail
    first, _, rest = key.partition('.')
    if rest and first in module._modules:
        return f'{first}.{_rename(module._modules[first], rest)}'
    return key


def _kv_permutation(num_heads: int, head_dim: int) -> torch.Tensor:
    """Index ``i`` of pst-mm's ``[all K | all V]`` channel -> the authors'
    per-head ``[k_h | v_h]`` channel."""
    heads = torch.arange(num_heads).repeat_interleave(head_dim)
    dims = torch.arange(head_dim).repeat(num_heads)
    k = heads * 2 * head_dim + dims
    return torch.cat([k, k + head_dim])


def _our_units(model: nn.Module) -> List[str]:
    """pst-mm module prefixes in the order of the Ultralytics layers that
    hold weights."""
    backbone = model.backbone
    units = []
    for s, stage in enumerate(backbone.stages):
        if type(backbone).__name__ == 'YOLOResNet':
            units.append(f'backbone.stages.{s}')
        else:
            units += [f'backbone.stages.{s}.{j}' for j in range(len(stage))]
    neck = model.neck
    if getattr(neck, 'p5_block', None) is not None:
        units += ['neck.p5_block.0', 'neck.p5_block.1']
    units += ['neck.top_down.0', 'neck.top_down.1', 'neck.downsample_convs.0',
              'neck.bottom_up.0', 'neck.downsample_convs.1',
              'neck.bottom_up.1', 'bbox_head']
    return units


def convert_ultralytics(ckpt: dict, model: nn.Module,
                        source: str = 'checkpoint'
                        ) -> 'OrderedDict[str, torch.Tensor]':
    """Map an Ultralytics detection model's weights onto a pst-mm model.

    Args:
        ckpt (dict): From :func:`load_ultralytics_checkpoint`.
        model (nn.Module): The pst-mm detector the config builds (only its
            state-dict keys and shapes are read; the meta device will do).
        source (str): Name used in errors. Defaults to 'checkpoint'.

    Returns:
        OrderedDict: fp32 state dict with exactly ``model``'s keys and
        shapes.
    """
    layers = [m for m in ckpt['model'].model
              if next(iter(m.state_dict().values()), None) is not None]
    units = _our_units(model)
    if len(layers) != len(units):
        raise UltralyticsCheckpointError(
            f'{source}: {len(layers)} weighted layers do not fit the '
            f'{len(units)} modules of the pst-mm model')
    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for layer, unit in zip(layers, units):
        kv_perm = {}
        for name, mod in layer.named_modules():
            if _class_name(mod).endswith('.PSAttn'):
                kv_perm[f'{name}.kv.' if name else 'kv.'] = _kv_permutation(
                    int(mod.num_heads), int(mod.head_dim))
        for key, val in layer.state_dict().items():
            if _class_name(layer).endswith('.Detect') and key.startswith(
                    'dfl.'):
                # frozen DFL expectation weights: our dfl_bins parameter
                converted[f'{unit}.dfl_bins'] = val.reshape(-1).float()
                continue
            if val.is_floating_point():
                val = val.float()
            for prefix, perm in kv_perm.items():
                if key.startswith(prefix) and not key.endswith(
                        'num_batches_tracked'):
                    val = val[perm]
            converted[f'{unit}.{_rename(layer, key)}'] = val.contiguous()
    ours = model.state_dict()
    missing = [k for k in ours if k not in converted]
    extra = [k for k in converted if k not in ours]
    wrong = [(k, tuple(converted[k].shape), tuple(v.shape))
             for k, v in ours.items()
             if k in converted and converted[k].shape != v.shape]
    if missing or extra or wrong:
        detail = (f'{len(wrong)} shape mismatches (first: {wrong[0][0]} '
                  f'{wrong[0][1]} vs {wrong[0][2]})' if wrong else
                  f'{len(missing)} missing / {len(extra)} unexpected keys '
                  f'(first: {(missing or extra)[0]})')
        raise UltralyticsCheckpointError(
            f'{source}: the checkpoint does not fit the pst-mm model: '
            f'{detail}')
    return OrderedDict((k, converted[k]) for k in ours)


def ultralytics_meta(ckpt: dict, source: str) -> dict:
    """The ``meta`` of a converted checkpoint (plain types only)."""
    model = ckpt['model']
    names = getattr(model, 'names', None) or {}
    if isinstance(names, dict):
        classes = [str(names[k]) for k in sorted(names)]
    else:
        classes = [str(n) for n in names]
    topks = sorted({int(m.topk) for m in model.modules()
                    if _class_name(m).endswith('.PSAttn')})
    yaml = model.yaml
    return dict(
        dataset_meta=dict(classes=tuple(classes)),
        ultralytics=dict(
            source=osp.basename(source),
            sha256=ckpt['sha256'],
            version=str(ckpt.get('version', 'unknown')),
            yaml_file=osp.basename(str(yaml.get('yaml_file', ''))),
            scale=str(yaml.get('scale', '')),
            nc=int(yaml.get('nc', len(classes))),
            topk=topks[0] if len(topks) == 1 else topks,
            epoch=int(ckpt.get('epoch') or -1)))


def num_classes_of(ckpt: dict) -> int:
    """Class count of the checkpoint's head."""
    return int(ckpt['model'].yaml.get('nc') or len(ckpt['model'].names))


__all__ = [
    'ARCH_CONFIGS', 'TESTED_ULTRALYTICS', 'UltralyticsCheckpointError',
    'UltralyticsObject', 'load_ultralytics_checkpoint',
    'recognise_architecture', 'convert_ultralytics', 'ultralytics_meta',
    'num_classes_of'
]
