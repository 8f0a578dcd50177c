# Copyright (c) oksnet-mmpose contributors.
from mmpose.models.heads import ViPNASHead
from mmpose.registry import MODELS

from .oksnet_head import OKSNetHead


@MODELS.register_module()
class OKSNetViPNASHead(OKSNetHead, ViPNASHead):
    """:class:`ViPNASHead` (grouped deconvolutions) with an OKS-net branch on
    the pose feature its final heatmap layer reads, as :class:`OKSNetHead`.

    Args:
        *args, **kwargs: As in :class:`ViPNASHead`.
        oks_net, loss_oks, metainfo, pose_feature: See
            :class:`PoseQualityMixin`.
    """
