# Copyright (c) oksnet-mmpose contributors.
"""What the OKS-net branch adds to a pose network: parameters and FLOPs of
the base network and of the ``oks_net`` branch, counted by MMEngine (paper
Sec. V-E: the branch adds 2.7M / 4.7M parameters and 0.1 / 0.2 GFLOPs at
256x192 / 384x288). ``tools/benchmark_cost.py`` reports them with CPU
timings."""
from typing import Any, Dict, Tuple

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from torch import Tensor, nn


class PoseNetworkForward(nn.Module):
    """The network of a top-down OKS-net model as one traceable forward:
    backbone, neck and the head's heatmaps (every stage's for a multi-stage
    head), as a stock heatmap model runs them in tensor mode, and with
    ``with_oks_net`` also the ``oks_net`` branch on the pose feature.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` whose head has an
            ``oks_net`` branch.
        with_oks_net (bool): Also output the predicted OKS, shape (B, ).
            Defaults to False.
    """

    def __init__(self, model: nn.Module, with_oks_net: bool = False):
        super().__init__()
        self.model = model
        self.with_oks_net = with_oks_net

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        feats = self.model.extract_feat(inputs)
        head = self.model.head
        if not self.with_oks_net:
            heatmaps = head.forward(feats)
            # a tuple either way: what jit tracing (the FLOP counter) accepts
            return (tuple(heatmaps) if isinstance(heatmaps, list) else
                    (heatmaps, ))
        heatmaps, quality = head.forward_with_quality(feats)
        return (*heatmaps, quality)


def count_flops(module: nn.Module, inputs: Tuple[Tensor, ...]) -> int:
    """FLOPs of one forward pass, counted by MMEngine's :class:`FlopAnalyzer`
    (the counter behind ``get_model_complexity_info``): one fused
    multiply-add counts as one FLOP; element-wise operations (activations,
    the attention's re-weighting, additions) are not counted.

    Args:
        module (nn.Module): The module, in the mode to analyse.
        inputs (tuple[Tensor]): The positional inputs of its forward.

    Returns:
        int: The FLOP count.
    """
    analyzer = FlopAnalyzer(module, inputs)
    # elementwise ops are knowingly not counted; the branch's modules are
    # not called by the base forward on purpose
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return int(analyzer.total())


def model_complexity(model: nn.Module) -> Dict[str, Any]:
    """Parameters and FLOPs (one image) of the base network
    (:class:`PoseNetworkForward` without the branch) and of the ``oks_net``
    branch alone, on a pose feature of its input shape.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.

    Returns:
        dict: ``input_size`` (w, h, from the head's codec),
        ``pose_feature_shape`` (C, H, W), ``base_params``, ``base_flops``,
        ``branch_params``, ``branch_flops`` (counts, not millions).
    """
    training = model.training
    model.eval()
    width, height = model.head.decoder.input_size
    oks_net = model.head.oks_net
    feature_width, feature_height = oks_net.feature_size
    pose_feature_shape = (oks_net.in_channels, feature_height, feature_width)
    with torch.no_grad():
        base_flops = count_flops(
            PoseNetworkForward(model), (torch.zeros(1, 3, height, width), ))
        branch_inputs = (torch.zeros(1, *pose_feature_shape), )
        if oks_net.reads_keypoint_statistics:
            # the statistics themselves are a few element-wise reductions
            # of the keypoint maps: not counted, as the other element-wise
            # operations
            branch_inputs += (torch.zeros(1, oks_net.num_keypoints,
                                          oks_net.num_statistics), )
        branch_flops = count_flops(oks_net, branch_inputs)
    model.train(training)
    # parameter_count: '' is the whole model, every submodule by its name
    params = parameter_count(model)
    return dict(
        input_size=(width, height),
        pose_feature_shape=pose_feature_shape,
        base_params=params[''] - params['head.oks_net'],
        base_flops=base_flops,
        branch_params=params['head.oks_net'],
        branch_flops=branch_flops)
