# Copyright (c) oksnet-mmpose contributors.
"""The OKS-net heads are what the registry holds (a newly registered one
included), each mapped to the stock head it extends; ``oksnet_head`` finds
the head of a plain or wrapped model and names the registered heads when
there is none."""
import pytest
import torch
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from torch import nn

from oksnet_mmpose.models import (OKSNetHead, PoseQualityMixin, oksnet_head,
                                  oksnet_head_of_stock_head,
                                  oksnet_head_types, stock_head_type)
from .oksnet_head_cases import FAMILIES


def test_registered_heads_are_the_six_families():
    assert oksnet_head_types() == {
        oksnet.__name__: oksnet
        for _, oksnet in FAMILIES.values()
    }


def test_each_oksnet_head_maps_to_the_stock_head_it_extends():
    # ViPNAS: OKSNetViPNASHead(OKSNetHead, ViPNASHead) -> ViPNASHead, not
    # the HeatmapHead of its OKSNetHead base
    assert oksnet_head_of_stock_head() == {
        stock.__name__: oksnet.__name__
        for stock, oksnet in FAMILIES.values()
    }


@pytest.fixture
def registered_new_family():
    """An OKS-net head registered the way a downstream family is, removed
    from the registry afterwards."""

    class MyHead(HeatmapHead):
        pass

    class OKSNetMyHead(PoseQualityMixin, MyHead):
        pass

    MODELS.register_module(module=OKSNetMyHead)
    try:
        yield OKSNetMyHead
    finally:
        MODELS._module_dict.pop('OKSNetMyHead')


def test_a_newly_registered_head_is_listed_and_named(registered_new_family):
    assert oksnet_head_types()['OKSNetMyHead'] is registered_new_family
    assert oksnet_head_of_stock_head()['MyHead'] == 'OKSNetMyHead'
    with pytest.raises(ValueError, match='OKSNetMyHead'):
        oksnet_head(nn.Module())


def test_stock_head_type_refuses_an_ambiguous_head():

    class TwoStockBases(PoseQualityMixin, HeatmapHead, nn.Identity):
        pass

    with pytest.raises(TypeError,
                       match=r'TwoStockBases must have exactly one direct '
                       r"base .*\['HeatmapHead', 'Identity'\]"):
        stock_head_type(TwoStockBases)


def _model_with(head):
    model = nn.Module()
    model.head = head
    return model


def test_oksnet_head_of_a_plain_and_of_a_wrapped_model():
    head = OKSNetHead(in_channels=8, out_channels=17)
    model = _model_with(head)
    assert oksnet_head(model) is head
    # MMEngine's model wrappers (DDP, DataParallel) hold it as `.module`
    assert oksnet_head(torch.nn.DataParallel(model)) is head


@pytest.mark.parametrize('model, found', [
    (_model_with(HeatmapHead(in_channels=8, out_channels=17)),
     'the head HeatmapHead'),
    (nn.Linear(2, 2), 'no head'),
])
def test_oksnet_head_error_names_every_registered_head(model, found):
    with pytest.raises(ValueError) as err:
        oksnet_head(model, needed_by='MyTool')
    message = str(err.value)
    assert message.startswith(f'MyTool: the model ({type(model).__name__}) '
                              f'has {found}, not an OKS-net head')
    for name in oksnet_head_types():
        assert name in message
