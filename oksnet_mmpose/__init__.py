# Copyright (c) oksnet-mmpose contributors.
"""OKS-net for MMPose. Importing the package registers its modules in
MMPose's registries (MODELS, METRICS, HOOKS, TRANSFORMS) and lets torch load
MMEngine checkpoints with ``weights_only=True``."""
import mmcv
import mmengine
import mmpose
from mmengine.utils import digit_version

from .version import __version__, version_info

# Checked at import as OpenMMLab packages do, rather than pinned in
# setup.py, so `pip install -e .` never replaces a user's (CUDA) mmcv build.
_REQUIRED = {
    'mmcv': (mmcv, '2.0.0', '2.2.0'),
    'mmengine': (mmengine, '0.10.0', '1.0.0'),
    'mmpose': (mmpose, '1.1.0', '2.0.0'),
}
for _name, (_module, _minimum, _maximum) in _REQUIRED.items():
    _version = digit_version(_module.__version__)
    if not digit_version(_minimum) <= _version < digit_version(_maximum):
        raise ImportError(
            f'oksnet_mmpose needs {_minimum} <= {_name} < {_maximum}, found '
            f'{_name}=={_module.__version__}; see requirements/mminstall.txt')

from .codecs import *  # noqa: F401,F403,E402
from .datasets import *  # noqa: F401,F403,E402
from .engine import *  # noqa: F401,F403,E402
from .evaluation import *  # noqa: F401,F403,E402
from .evaluation.functional import compute_oks  # noqa: E402
from .models import *  # noqa: F401,F403,E402
from .utils import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

__all__ = ['__version__', 'version_info', 'compute_oks']
