# Copyright (c) oksnet-mmpose contributors.
"""Install oksnet-mmpose into an existing MMPose 1.x environment.

As with MMPose itself, the OpenMMLab packages (whose mmcv needs a wheel built
for the user's own torch/CUDA) are not hard requirements: they are listed under
the ``mim`` extra, and ``import oksnet_mmpose`` checks their versions with a
clear message.  ``pip install -e .`` therefore never upgrades, downgrades or
rebuilds a working MMPose stack.
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join(HERE, 'oksnet_mmpose', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Requirement lines of ``requirements/<fname>``, comments dropped."""
    with open(osp.join(HERE, 'requirements', fname)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='oksnet-mmpose',
    version=get_version(),
    description='OKS-net for MMPose: learn to predict the OKS of each '
    'top-down pose and use it as the pose score',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=parse_requirements('runtime.txt') + ['torch>=1.8'],
    extras_require={
        'mim': parse_requirements('mminstall.txt'),
        'tests': parse_requirements('tests.txt'),
    },
    zip_safe=False,
)
