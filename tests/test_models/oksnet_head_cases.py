# Copyright (c) oksnet-mmpose contributors.
"""What the head tests share: each OKS-net head family with the stock head it
extends, and MMPose's dummy batches with the fields PackOKSPoseInputs adds."""
import numpy as np
from mmpose.models.heads import (CPMHead, HeatmapHead, MSPNHead, RTMCCHead,
                                 SimCCHead, ViPNASHead)
from mmpose.testing import get_packed_inputs

from oksnet_mmpose.models import (OKSNetCPMHead, OKSNetHead, OKSNetMSPNHead,
                                  OKSNetRTMCCHead, OKSNetSimCCHead,
                                  OKSNetViPNASHead)

# family: (stock head, OKS-net head)
FAMILIES = {
    'heatmap': (HeatmapHead, OKSNetHead),
    'cpm': (CPMHead, OKSNetCPMHead),
    'mspn': (MSPNHead, OKSNetMSPNHead),
    'vipnas': (ViPNASHead, OKSNetViPNASHead),
    'rtmcc': (RTMCCHead, OKSNetRTMCCHead),
    'simcc': (SimCCHead, OKSNetSimCCHead),
}


def get_oks_packed_inputs(*args, **kwargs) -> dict:
    """:func:`mmpose.testing.get_packed_inputs` plus what
    :class:`PackOKSPoseInputs` packs for the OKS target: the keypoints in the
    model input frame (MMPose draws them there) and the instance areas (the
    box areas here)."""
    packed = get_packed_inputs(*args, **kwargs)
    for sample in packed['data_samples']:
        gt = sample.gt_instances
        gt.transformed_keypoints = gt.keypoints.astype(np.float32)
        width, height = (gt.bboxes[:, 2:] - gt.bboxes[:, :2]).T
        gt.transformed_areas = (width * height).astype(np.float32)
    return packed
