# Copyright (c) pst-mm contributors. All rights reserved.
from .datasets import *  # noqa: F401,F403  (registers the transforms)
from .evaluation import *  # noqa: F401,F403  (registers the metrics)
from .models import *  # noqa: F401,F403  (registers the necks)
from .utils import allow_mmengine_checkpoints
from .version import __version__, version_info

# Loading an mmengine checkpoint (resume, load_from, tools/test.py) under
# torch's weights_only=True needs its few non-tensor types allowlisted.
allow_mmengine_checkpoints()

__all__ = ['__version__', 'version_info']
