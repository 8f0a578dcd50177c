# Copyright (c) oksnet-mmpose contributors.
from .transforms import *  # noqa: F401,F403
