# Copyright (c) oksnet-mmpose contributors.
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
