# Copyright (c) oksnet-mmpose contributors.
import pytest
import torch

from oksnet_mmpose.models import OKSNet


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('feature_size, expected_millions', [
    ((48, 64), 2.7),  # HRNet-W32 at 256x192 (paper Sec. V-E)
    ((72, 96), 4.7),  # HRNet-W32 at 384x288
])
def test_branch_size_matches_paper(feature_size, expected_millions):
    branch = OKSNet(in_channels=32, feature_size=feature_size)
    assert _num_params(branch) / 1e6 == pytest.approx(
        expected_millions, abs=0.1)


@pytest.mark.parametrize('attention', ['channel', 'spatial', 'none'])
@pytest.mark.parametrize('structure', ['conv', 'maxpool', 'residual'])
def test_ablation_variants_predict_oks_in_unit_interval(attention, structure):
    branch = OKSNet(
        in_channels=32, feature_size=(48, 64), attention=attention,
        structure=structure)
    out = branch(torch.randn(3, 32, 64, 48) * 10)
    assert out.shape == (3, ) and ((out >= 0) & (out <= 1)).all()
    # the attention really re-weights: zeroing the input changes the output
    assert not torch.allclose(out, branch(torch.zeros(3, 32, 64, 48)))


def test_channel_attention_reweights_channels():
    branch = OKSNet(in_channels=4, feature_size=(8, 8))
    x = torch.rand(1, 4, 8, 8)
    weights = torch.sigmoid(branch.attention.fc(x.amax(dim=(2, 3))))
    assert torch.allclose(branch.attention(x), x * weights[..., None, None])


def test_wrong_feature_shape_is_named():
    branch = OKSNet(in_channels=32, feature_size=(48, 64))
    with pytest.raises(ValueError, match='32 channels, got shape'):
        branch(torch.randn(1, 17, 64, 48))
    with pytest.raises(ValueError, match='unknown attention'):
        OKSNet(in_channels=32, feature_size=(48, 64), attention='se')
    with pytest.raises(ValueError, match='unknown structure'):
        OKSNet(in_channels=32, feature_size=(48, 64), structure='mlp')


def test_other_feature_sizes_are_pooled_to_the_grid():
    """At ``feature_size`` nothing is pooled (the paper's geometry); another
    size is average-pooled to the same grid after down-sampling."""
    torch.manual_seed(0)
    branch = OKSNet(in_channels=8, feature_size=(48, 64)).eval()
    assert branch.grid_size == (6, 8)
    x = torch.rand(2, 8, 64, 48)
    with torch.no_grad():
        unpooled = torch.sigmoid(
            branch.fc(branch.downsample(branch.attention(x)))).squeeze(1)
        assert torch.equal(branch(x), unpooled)
        larger = torch.rand(2, 8, 128, 96)
        pooled = torch.nn.functional.adaptive_avg_pool2d(
            branch.downsample(branch.attention(larger)), (8, 6))
        assert torch.equal(branch(larger),
                           torch.sigmoid(branch.fc(pooled)).squeeze(1))
        assert branch(torch.rand(2, 8, 8, 6)).shape == (2, )
    # size unknown (a head without decoder): the 256x192 COCO grid
    assert OKSNet(in_channels=8).grid_size == (6, 8)
