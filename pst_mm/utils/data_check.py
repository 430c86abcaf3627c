# Copyright (c) pst-mm contributors. All rights reserved.
"""Check, before a Runner is built, that the data a config names exists.

Without COCO on disk, ``tools/train.py`` would otherwise end in a long
pycocotools traceback (``FileNotFoundError: ... instances_train2017.json``)
from deep inside the dataset build; the launchers call
:func:`check_data_paths` first and print one line instead.
"""
import os.path as osp
from typing import Iterable, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

DATA_LAYOUT_HINT = 'see README.md, "Data layout"'


def _join(data_root: str, path: str) -> str:
    """Join ``path`` to ``data_root`` as mmengine's ``BaseDataset`` does:
    absolute paths stay, relative ones hang under the root."""
    if not data_root or osp.isabs(path):
        return path
    return osp.join(data_root, path)


def _is_remote(path: str) -> bool:
    """URIs (``s3://``, ``http://``, petrel ...) are left to their backends."""
    return '://' in path


def dataset_paths(dataset: dict) -> List[str]:
    """The files and folders a dataset config reads, wrappers unwrapped.

    Covers ``data_root`` + ``ann_file`` and every ``data_prefix`` entry (a
    dict as mmdet writes it, or a string as some mmpretrain datasets take),
    joined the way mmengine's ``BaseDataset`` joins them, and recurses into
    ``dataset`` (``RepeatDataset``, ``ClassBalancedDataset``,
    ``MultiImageMixDataset``) and ``datasets`` (``ConcatDataset``).

    Args:
        dataset (dict): A dataset config, e.g.
            ``cfg.train_dataloader.dataset``.

    Returns:
        list[str]: Paths in the order the dataset would look for them
        (data root, annotation file, then data prefixes).
    """
    paths: List[str] = []
    if not isinstance(dataset, dict):
        return paths
    if isinstance(dataset.get('dataset'), dict):
        paths += dataset_paths(dataset['dataset'])
    for sub in dataset.get('datasets', None) or []:
        paths += dataset_paths(sub)
    data_root = dataset.get('data_root', None) or ''
    if not isinstance(data_root, str):
        return paths
    if data_root:
        paths.append(data_root)
    ann_file = dataset.get('ann_file', None)
    if isinstance(ann_file, str) and ann_file:
        paths.append(_join(data_root, ann_file))
    prefix = dataset.get('data_prefix', None)
    prefixes = prefix.values() if isinstance(prefix, dict) else [prefix]
    for p in prefixes:
        # an empty prefix means data_root itself, listed above
        if isinstance(p, str) and p:
            paths.append(_join(data_root, p))
    return paths


def missing_data_paths(
        cfg: Config,
        loaders: Iterable[str] = ('train_dataloader', 'val_dataloader',
                                  'test_dataloader'),
        evaluators: Iterable[str] = ()) -> List[Tuple[str, str]]:
    """The data paths named by ``cfg`` that do not exist.

    Args:
        cfg (Config): The loaded config (``--cfg-options`` applied).
        loaders (Iterable[str]): The dataloaders the run will build; a
            missing or ``None`` one is skipped. Defaults to train, val and
            test.
        evaluators (Iterable[str]): Evaluators whose ``ann_file`` (e.g.
            ``CocoMetric``'s) must exist too. Defaults to none.

    Returns:
        list[tuple[str, str]]: ``(path, where)`` per missing path, ``where``
        the loader or evaluator that names it; empty when all exist.
    """
    missing = []
    seen = set()

    def _check(path: str, where: str) -> None:
        if path in seen or _is_remote(path):
            return
        seen.add(path)
        # under a missing data root: that root is the one thing to report
        if any(path.startswith(m.rstrip('/') + '/') for m, _ in missing):
            return
        if not osp.exists(path):
            missing.append((path, where))

    for name in loaders:
        loader = cfg.get(name, None)
        if not isinstance(loader, (dict, ConfigDict)):
            continue
        for path in dataset_paths(loader.get('dataset', None)):
            _check(path, name)
    for name in evaluators:
        evaluator = cfg.get(name, None)
        metrics = evaluator if isinstance(evaluator, (list, tuple)) else [
            evaluator
        ]
        for metric in metrics:
            if isinstance(metric, dict) and isinstance(
                    metric.get('ann_file', None), str) and metric.ann_file:
                _check(metric.ann_file, name)
    return missing


def check_data_paths(cfg: Config,
                     loaders: Iterable[str] = ('train_dataloader',
                                               'val_dataloader',
                                               'test_dataloader'),
                     evaluators: Iterable[str] = (),
                     hint: Optional[str] = DATA_LAYOUT_HINT) -> None:
    """Raise a one-line :class:`FileNotFoundError` naming the first missing
    data path of ``cfg``.

    Args:
        cfg (Config): The loaded config.
        loaders (Iterable[str]): See :func:`missing_data_paths`.
        evaluators (Iterable[str]): See :func:`missing_data_paths`.
        hint (str, optional): Where the data layout is explained, appended to
            the message. Defaults to the README's "Data layout" section.

    Raises:
        FileNotFoundError: With the first missing path, the loader naming
            it and how many paths are missing in all.
    """
    missing = missing_data_paths(cfg, loaders, evaluators)
    if not missing:
        return
    path, where = missing[0]
    more = f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''
    msg = f'data not found: {path} (named by {where}){more}'
    if hint:
        msg += f'; {hint}'
    raise FileNotFoundError(msg)
