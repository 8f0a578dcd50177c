# Copyright (c) oksnet-mmpose contributors.
"""The OKS-net heads, as MMPose's ``MODELS`` registry knows them, and the
OKS-net head of a model. The list of OKS-net heads is derived here and
nowhere else: every class registered in ``MODELS`` (or a child registry)
that is a :class:`PoseQualityMixin`."""
from typing import Dict, Iterator, Optional

from mmengine.model import is_model_wrapper
from mmengine.registry import Registry
from mmpose.registry import MODELS
from torch import nn

from .pose_quality_mixin import PoseQualityMixin


def _registries(registry: Registry) -> Iterator[Registry]:
    yield registry
    for child in registry.children.values():
        yield from _registries(child)


def oksnet_head_types() -> Dict[str, type]:
    """The registered OKS-net heads: registered name -> class, in
    registration order, MMPose's ``MODELS`` first, then its child
    registries (a downstream project's scope)."""
    heads = {}
    for registry in _registries(MODELS):
        for name, cls in registry.module_dict.items():
            if isinstance(cls, type) and issubclass(cls, PoseQualityMixin):
                heads.setdefault(name, cls)
    return heads


def stock_head_type(oksnet_head_type: type) -> type:
    """The stock MMPose head an OKS-net head extends: its one direct base
    that is not OKS-net (``OKSNetViPNASHead(OKSNetHead, ViPNASHead)`` ->
    ``ViPNASHead``)."""
    stock = [
        base for base in oksnet_head_type.__bases__
        if not issubclass(base, PoseQualityMixin)
    ]
    if len(stock) != 1:
        raise TypeError(
            f'{oksnet_head_type.__name__} must have exactly one direct base '
            'that is not a PoseQualityMixin (the stock head it extends), got '
            f'{[base.__name__ for base in stock]}')
    return stock[0]


def oksnet_head_of_stock_head() -> Dict[str, str]:
    """Stock head name -> the name of the registered OKS-net head that
    extends it (``'HeatmapHead' -> 'OKSNetHead'``), what the config
    converter swaps. Of two OKS-net heads of one stock head, the first
    registered (this package's) is kept."""
    mapping = {}
    for name, cls in oksnet_head_types().items():
        mapping.setdefault(stock_head_type(cls).__name__, name)
    return mapping


def oksnet_head(model: nn.Module,
                needed_by: Optional[str] = None) -> PoseQualityMixin:
    """The OKS-net head of a top-down pose model.

    Args:
        model (nn.Module): A :class:`TopdownPoseEstimator`, or a model
            wrapper of one (DDP: its ``module``).
        needed_by (str, optional): What needs the head, to start the error
            message with (e.g. ``'OKSLossSwitchHook'``).

    Returns:
        PoseQualityMixin: ``model.head``.

    Raises:
        ValueError: The model has no head, or its head is not an OKS-net
            head; the message names the registered OKS-net heads.
    """
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'head', None)
    if isinstance(head, PoseQualityMixin):
        return head
    found = ('no head'
             if head is None else f'the head {type(head).__name__}')
    prefix = f'{needed_by}: ' if needed_by else ''
    raise ValueError(
        f'{prefix}the model ({type(model).__name__}) has {found}, not an '
        'OKS-net head (the registered OKS-net heads: '
        f'{", ".join(oksnet_head_types())}); use an OKS-net config '
        '(configs/, or tools/add_oksnet.py on a stock MMPose config)')
