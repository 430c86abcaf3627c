# Copyright (c) pst-mm contributors. All rights reserved.
from .layers import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
