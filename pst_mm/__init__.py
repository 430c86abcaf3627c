# Copyright (c) pst-mm contributors. All rights reserved.
# First, before anything imports mmdet or mmpretrain: mmpretrain 1.2 crashes
# at import when transformers >= 5 is installed (see utils/import_hooks.py).
from .utils.import_hooks import keep_mmpretrain_importable

keep_mmpretrain_importable()

from .datasets import *  # noqa: F401,F403,E402  (registers the transforms)
from .engine import *  # noqa: F401,F403,E402  (registers the hooks, wrappers)
from .evaluation import *  # noqa: F401,F403,E402  (registers the metrics)
from .models import *  # noqa: F401,F403,E402  (registers the necks)
from . import registry  # noqa: F401,E402  (the pst_mm scope, for inferencers)
from .utils import allow_mmengine_checkpoints  # noqa: E402
from .version import __version__, version_info  # noqa: E402

# Loading an mmengine checkpoint (resume, load_from, tools/test.py) under
# torch's weights_only=True needs its few non-tensor types allowlisted.
allow_mmengine_checkpoints()

__all__ = ['__version__', 'version_info']
