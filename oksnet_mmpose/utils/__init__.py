# Copyright (c) oksnet-mmpose contributors.
from .atomic_write import atomic_path, dump_json_atomic, write_text_atomic
from .checkpoint import (checkpoint_safe_globals,
                         register_checkpoint_safe_globals)
from .output_paths import check_output_dir, check_output_file

__all__ = [
    'atomic_path', 'check_output_dir', 'check_output_file',
    'checkpoint_safe_globals', 'dump_json_atomic',
    'register_checkpoint_safe_globals', 'write_text_atomic'
]
