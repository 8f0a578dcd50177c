# Copyright (c) oksnet-mmpose contributors.
"""Check that the MMPose stack this package needs imports and works, and
print a one-line diagnosis for each broken piece (no deep tracebacks).

Usage: python tools/check_env.py   (exit status 1 when something is broken)
"""
import importlib
import shutil
import sys


def _check_torch():
    import torch
    return f'torch {torch.__version__}'


def _check_torchvision():
    try:
        import torchvision
    except RuntimeError as e:
        if 'does not exist' in str(e):
            raise RuntimeError(
                'torchvision was built for another torch build (e.g. CUDA '
                'torchvision over a CPU-only torch); install the pair from '
                'requirements/torch.txt') from None
        raise
    return f'torchvision {torchvision.__version__}'


def _check_mmcv():
    import mmcv
    try:
        importlib.import_module('mmcv._ext')
    except ImportError:
        raise ImportError(
            f'mmcv {mmcv.__version__} has no compiled ops (mmcv._ext); '
            'mmpose imports mmcv.ops: install full mmcv (MMCV_WITH_OPS=1), '
            'not mmcv-lite') from None
    return f'mmcv {mmcv.__version__} (with ops)'


def _check_xtcocotools():
    import numpy
    try:
        importlib.import_module('xtcocotools._mask')
    except ValueError as e:
        if 'dtype size changed' in str(e):
            raise ImportError(
                'xtcocotools was compiled against numpy 1.x but numpy '
                f'{numpy.__version__} is installed; rebuild it: pip install '
                '--no-binary xtcocotools --no-build-isolation '
                '--force-reinstall --no-deps xtcocotools') from None
        raise
    return f'xtcocotools (numpy {numpy.__version__})'


def _check_module(name):
    def check():
        module = importlib.import_module(name)
        return f'{name} {getattr(module, "__version__", "")}'.strip()

    return check


def _check_albumentations():
    albumentations = importlib.import_module('albumentations')
    if not hasattr(albumentations.augmentations, 'transforms'):
        raise ImportError(
            f'albumentations {albumentations.__version__} breaks MMPose\'s '
            'Albumentation transform (RTMPose / CSPNeXt recipes); install '
            'albumentations==1.3.1 (tools/setup_env.sh)')
    return f'albumentations {albumentations.__version__}'


def _check_mim():
    if shutil.which('mim') is None:
        raise FileNotFoundError('the `mim` command (openmim) is not on PATH')
    return 'mim'


CHECKS = [
    ('torch', _check_torch),
    ('torchvision', _check_torchvision),
    ('mmcv', _check_mmcv),
    ('xtcocotools', _check_xtcocotools),
    ('mmengine', _check_module('mmengine')),
    ('mmdet', _check_module('mmdet')),
    ('mmpose', _check_module('mmpose')),
    ('oksnet_mmpose', _check_module('oksnet_mmpose')),
    # stock recipes' extra packages (ViTPose; RTMPose / CSPNeXt)
    ('mmpretrain', _check_module('mmpretrain')),
    ('albumentations', _check_albumentations),
    ('mim', _check_mim),
]


def main() -> int:
    found, failed = [], []
    for name, check in CHECKS:
        try:
            found.append(check())
        except Exception as e:  # one line per broken piece, no traceback
            message = str(e).strip().splitlines()
            failed.append(f'{name}: {type(e).__name__}: '
                          f'{message[-1] if message else ""}')
    if failed:
        for line in failed:
            print(f'[check] BROKEN {line}', file=sys.stderr)
        return 1
    print('[check] ok: ' + ', '.join(found))
    return 0


if __name__ == '__main__':
    sys.exit(main())
