# Copyright (c) pst-mm contributors. All rights reserved.
"""A ``pst_mm`` registry scope, so that OpenMMLab inferencers find pst-mm
models by name: ``DetInferencer(model='<config name>', scope='pst_mm')``.

mmengine's ``BaseInferencer`` resolves a model name only through a scope:
it asserts the scope is in ``MODULE2PACKAGE``, imports the package, reads
``model-index.yml`` next to it (the source checkout) or in its ``.mim``
folder (an install), and builds everything under that default scope. pst-mm
registers its modules into mmdet's (and mmpretrain's) registries, so the
``pst_mm`` scope here is a set of child registries of mmdet's, as MMYOLO's
``mmyolo/registry.py``: a lookup in them falls through to mmdet, then to
mmengine/mmcv.
"""
from mmengine import registry as mmengine_registry
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import Registry

SCOPE = 'pst_mm'

# mmdet.registry's names, plus mmengine's FUNCTIONS (collate functions,
# which mmdet does not re-export); each gets a ``pst_mm`` child
REGISTRY_NAMES = ('RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS',
                  'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
                  'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
                  'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
                  'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'TASK_UTILS',
                  'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'FUNCTIONS')


def register_inference_scope() -> dict:
    """Create the ``pst_mm`` scope (idempotent).

    Adds ``pst_mm`` to mmengine's ``MODULE2PACKAGE`` (which
    ``BaseInferencer`` asserts) and a ``pst_mm`` child under each of
    mmdet's registries, importing ``pst_mm`` on first use.

    Returns:
        dict: Registry name (e.g. ``'MODELS'``) to the ``pst_mm`` registry.
    """
    from mmdet import registry as mmdet_registry
    MODULE2PACKAGE.setdefault(SCOPE, 'pst_mm')
    registries = {}
    for name in REGISTRY_NAMES:
        parent = getattr(mmdet_registry, name, None) or getattr(
            mmengine_registry, name)
        child = parent.children.get(SCOPE)
        if child is None:
            child = Registry(
                getattr(mmengine_registry, name).name,
                parent=parent,
                scope=SCOPE,
                # without locations, mmengine would look for
                # pst_mm.utils.register_all_modules
                locations=['pst_mm'])
        registries[name] = child
    return registries
