# Copyright (c) oksnet-mmpose contributors.
from .atomic_write import atomic_path, dump_json_atomic, write_text_atomic
from .checkpoint import (checkpoint_safe_globals,
                         register_checkpoint_safe_globals)

__all__ = [
    'atomic_path', 'checkpoint_safe_globals', 'dump_json_atomic',
    'register_checkpoint_safe_globals', 'write_text_atomic'
]
