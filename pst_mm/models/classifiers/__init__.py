# Copyright (c) pst-mm contributors. All rights reserved.
from .spt_classifier import SPTImageClassifier

__all__ = ['SPTImageClassifier']
