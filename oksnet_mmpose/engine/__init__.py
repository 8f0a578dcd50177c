# Copyright (c) oksnet-mmpose contributors.
from .hooks import *  # noqa: F401,F403
