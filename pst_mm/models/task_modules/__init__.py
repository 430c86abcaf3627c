# Copyright (c) pst-mm contributors. All rights reserved.
from .assigners import *  # noqa: F401,F403
