# Copyright (c) pst-mm contributors. All rights reserved.
"""The ``pst_mm`` registry scope.

mmengine imports ``<scope>.registry`` whenever it switches to a scope, and
``DetInferencer(model='<config name>', scope='pst_mm')`` needs the scope to
exist; the registries are children of mmdet's, so every lookup falls
through to mmdet, mmengine and mmcv (see
:mod:`pst_mm.utils.inference_scope`).
"""
from .utils.inference_scope import register_inference_scope

_registries = register_inference_scope()
MODELS = _registries['MODELS']
DATASETS = _registries['DATASETS']
TRANSFORMS = _registries['TRANSFORMS']
VISUALIZERS = _registries['VISUALIZERS']

__all__ = ['MODELS', 'DATASETS', 'TRANSFORMS', 'VISUALIZERS']
