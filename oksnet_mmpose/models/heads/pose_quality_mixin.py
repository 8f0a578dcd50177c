# Copyright (c) oksnet-mmpose contributors.
import inspect
from contextlib import contextmanager
from functools import partial
from typing import (Dict, Iterator, List, Optional, Sequence, Tuple, Union)

import numpy as np
import torch
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptSampleList, Predictions
from torch import Tensor, nn

from oksnet_mmpose.codecs import decode_keypoints_batched
from oksnet_mmpose.evaluation.functional import compute_oks

# What the keypoint layer outputs and a codec decodes: heatmaps (B, K, H, W)
# or SimCC vectors (x (B, K, Wx), y (B, K, Wy)).
Encoded = Union[Tensor, Tuple[Tensor, ...]]

# the test_cfg key that lets a model whose loaded checkpoint lacks the
# branch's weights predict anyway (its pose_quality is then noise)
ALLOW_UNTRAINED_KEY = 'allow_untrained_oks_net'


class PoseQualityMixin:
    """The OKS-net part of every OKS-net head: the ``oks_net`` branch, its
    online GT-OKS target, its loss and its flip-averaged prediction. Put it
    before a stock MMPose head: ``class OKSNetXHead(PoseQualityMixin,
    XHead)``.

    The stock head's ``forward``, ``loss`` and ``predict`` run unchanged, so
    keypoints, keypoint scores and heatmaps are the stock head's, bit for bit,
    and a stock checkpoint loads with only ``oks_net.*`` missing. While they
    run, forward hooks record the two tensors OKS-net needs:

    - the *pose feature*: what the head's *keypoint layer* reads (the layer
      that outputs one map per keypoint; ``pose_feature='keypoint_layer_
      output'`` reads its output instead);
    - the *encoded* prediction: what the codec decodes (the heatmaps or the
      SimCC vectors), for the OKS target.

    A head family provides the layers to hook and the pose feature's shape:

    - ``keypoint_layer`` (property): the module that outputs the keypoint
      maps; its input is the pose feature.
    - ``encoded_output_layers`` (property): the modules whose outputs are
      the encoded prediction (one for heatmaps, ``cls_x, cls_y`` for SimCC).
    - ``keypoint_layer_input_shape(stock_args)``: ``(channels, (w, h) or
      None)`` of the keypoint layer's input, from the stock head's bound
      arguments (defaults applied).

    Args:
        *args, **kwargs: The stock head's arguments, unchanged.
        oks_net (dict): Extra arguments of :class:`OKSNet` (``attention``,
            ``structure``, ``feature_size``...). ``in_channels`` and, when
            the family knows it, ``feature_size`` are derived from the head.
            Defaults to ``dict()``.
        loss_oks (dict): Config of the OKS loss; its ``loss_weight`` is the
            paper's lambda_OKS (see :class:`OKSLossSwitchHook`). Defaults to
            :class:`HardMinedOKSLoss`.
        metainfo (str | dict): Dataset metainfo (a file, or a dict as MMPose
            datasets take it) with the keypoint ``sigmas`` of the OKS.
            Defaults to COCO's ``'configs/_base_/datasets/coco.py'``: set it
            to the training dataset's metainfo for any other dataset, also
            one with 17 keypoints.
        pose_feature (str): The tensor the branch reads:
            ``'keypoint_layer_input'`` (the paper's choice for heatmap heads)
            or ``'keypoint_layer_output'`` (the per-keypoint maps).
            Defaults to ``'keypoint_layer_input'``.
    """

    default_metainfo = 'configs/_base_/datasets/coco.py'
    pose_feature_choices = ('keypoint_layer_input', 'keypoint_layer_output')

    def __init__(self,
                 *args,
                 oks_net: dict = dict(),
                 loss_oks: ConfigType = dict(type='HardMinedOKSLoss'),
                 metainfo: Union[str, dict, None] = None,
                 pose_feature: str = 'keypoint_layer_input',
                 **kwargs):
        super().__init__(*args, **kwargs)
        if pose_feature not in self.pose_feature_choices:
            raise ValueError(
                f'{type(self).__name__}: unknown pose_feature '
                f'"{pose_feature}", expected one of '
                f'{self.pose_feature_choices}')
        self.pose_feature = pose_feature
        stock_args = inspect.signature(super().__init__).bind(*args, **kwargs)
        stock_args.apply_defaults()
        channels, size = self.keypoint_layer_input_shape(
            stock_args.arguments)
        if pose_feature == 'keypoint_layer_output' and not isinstance(
                self.keypoint_layer, nn.Identity):
            channels = self.out_channels

        cfg = dict(type='OKSNet', in_channels=channels, feature_size=size)
        cfg.update(oks_net)
        self.oks_net = MODELS.build(cfg)
        self.loss_oks = MODELS.build(loss_oks)
        self.metainfo = self.default_metainfo if metainfo is None else metainfo
        # not persistent: it comes from the dataset metainfo, and stock
        # checkpoints must load with only `oks_net.*` missing
        self.register_buffer(
            'sigmas', torch.as_tensor(self._load_sigmas(self.metainfo)),
            persistent=False)
        # the branch weights the last loaded state dict lacked: None while
        # the head has never been loaded (a fresh model) or once it trained
        # in this process; see `check_oks_net_weights`
        self.oks_net_missing_keys = None
        self.register_load_state_dict_pre_hook(_record_oks_net_weights)

    def check_oks_net_weights(self, test_cfg: ConfigType) -> None:
        """Refuse to predict with a branch whose weights the loaded
        checkpoint did not hold (a stock MMPose checkpoint): its
        ``pose_quality`` would come from the random initialisation.

        A fresh model (never loaded) and a model trained in this process
        (``loss`` called: validation during fine-tune or quality-only
        training, which load stock checkpoints on purpose) predict as usual.
        ``test_cfg.allow_untrained_oks_net=True`` opts in to predicting with
        the untrained branch.

        Raises:
            ValueError: The loaded checkpoint lacked branch weights and the
                opt-in is not set.
        """
        missing = self.oks_net_missing_keys
        if not missing or test_cfg.get(ALLOW_UNTRAINED_KEY, False):
            return
        total = len(_oks_net_weight_names(self))
        branch = missing[0][:missing[0].index('oks_net.')] + 'oks_net.*'
        raise ValueError(
            f'{type(self).__name__}: the loaded checkpoint lacks '
            f'{len(missing)} of the {total} OKS-net branch weights '
            f'(`{branch}`; a stock MMPose checkpoint has none), so '
            'pose_quality would come from a random initialisation. Use a '
            'checkpoint trained with OKS-net: fine-tune the stock one with '
            'an `*-ft-50e_*` config, or train only the branch with the '
            '`*-quality-only-*` config (see configs/). To predict with the '
            'untrained branch anyway, set model.test_cfg.'
            f'{ALLOW_UNTRAINED_KEY}=True (--cfg-options).')

    # -- what a head family provides --------------------------------------

    @property
    def keypoint_layer(self) -> nn.Module:
        """The layer that outputs the keypoint maps."""
        raise NotImplementedError

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        """The layers whose outputs are what the codec decodes."""
        raise NotImplementedError

    def keypoint_layer_input_shape(
            self, stock_args: dict) -> Tuple[int, Optional[Sequence[int]]]:
        """Channels and size (w, h), or None if unknown, of what the keypoint
        layer reads."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------

    def _load_sigmas(self, metainfo: Union[str, dict]) -> np.ndarray:
        """The keypoint sigmas of ``metainfo``; one clear line if there are
        none."""
        source = dict(from_file=metainfo) if isinstance(metainfo,
                                                        str) else metainfo
        try:
            sigmas = parse_pose_metainfo(source)['sigmas']
        except AssertionError:
            # parse_pose_metainfo asserts its required keys without a message
            sigmas = None
        if sigmas is None or len(sigmas) == 0:
            raise ValueError(
                f'{type(self).__name__}: the dataset metainfo {metainfo!r} '
                'has no keypoint `sigmas` (the OKS needs one per keypoint): '
                'set `model.head.metainfo` to a dataset metainfo file or dict '
                'with `sigmas`')
        return np.asarray(sigmas, dtype=np.float32)

    @contextmanager
    def record_forward(self) -> Iterator[Dict[str, list]]:
        """While the stock forward runs inside this context, record each
        call's pose feature (``record['pose_features']``) and encoded
        prediction (``record['encoded']``); a flip test gives two of each,
        the original input's first.

        The encoded prediction is cast to float32 (a no-op outside autocast):
        MMPose's accuracy and codecs convert it to numpy, which has no
        bfloat16.
        """
        pose_features = []
        outputs = [[] for _ in self.encoded_output_layers]

        def save_input(module, args):
            pose_features.append(args[0])

        def save_output(module, args, output):
            pose_features.append(output)

        def save_encoded(store, module, args, output):
            output = output.float()
            store.append(output)
            return output

        layer = self.keypoint_layer
        hooks = [
            layer.register_forward_pre_hook(save_input)
            if self.pose_feature == 'keypoint_layer_input' else
            layer.register_forward_hook(save_output)
        ]
        for module, store in zip(self.encoded_output_layers, outputs):
            hooks.append(
                module.register_forward_hook(partial(save_encoded, store)))
        record = dict(pose_features=pose_features, encoded=[])
        try:
            yield record
        finally:
            for hook in hooks:
                hook.remove()
        record['encoded'] = [
            calls[0] if len(calls) == 1 else tuple(calls)
            for calls in zip(*outputs)
        ]

    def forward_heatmaps_and_pose_feature(
            self, feats) -> Tuple[List[Tensor], Tensor]:
        """The stock head's outputs as a list (the heatmaps of every stage,
        or the SimCC x and y vectors) and the pose feature the OKS-net branch
        reads, computed once (ONNX export, cost benchmark)."""
        with self.record_forward() as record:
            outputs = self.forward(feats)
        outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
        return outputs, record['pose_features'][-1]

    def forward_pose_feature(self, feats) -> Tensor:
        """The pose feature the OKS-net branch reads."""
        return self.forward_heatmaps_and_pose_feature(feats)[1]

    def decode_keypoints(self, encoded: Encoded) -> Tensor:
        """Decode keypoints (input image space, (B, K, 2)) from a batch of
        encoded predictions (heatmaps, or SimCC ``(x, y)``) with the
        test-time codec, without gradient, batched on the device (see
        :func:`decode_keypoints_batched`). Every OKS target goes through
        here."""
        if self.decoder is None:
            raise ValueError(
                f'{type(self).__name__} needs a `decoder` to compute the OKS '
                'targets: set `model.head.decoder` (the codec)')
        return decode_keypoints_batched(self.decoder, encoded)

    @torch.no_grad()
    def get_oks_targets(self, encoded: Encoded,
                        batch_data_samples: OptSampleList
                        ) -> Tuple[Tensor, Tensor]:
        """The GT OKS of the poses decoded from ``encoded`` (paper Eq. 1).

        Computed in the model input frame: the GT keypoints after the
        affine transform and the annotation area scaled by the same factor
        squared (both packed by :class:`PackOKSPoseInputs`).

        Returns:
            tuple: ``gt_oks`` (B, ) and per-sample loss ``weights`` (B, ),
            0 for an instance with no labelled keypoint.
        """
        # float32 even under AMP: bf16 coordinates would be ~1 px coarse
        parts = (encoded, ) if isinstance(encoded, Tensor) else encoded
        parts = tuple(p.float() for p in parts)
        encoded = parts[0] if isinstance(encoded, Tensor) else parts
        bad = torch.stack([(~torch.isfinite(p)).flatten(1).any(1)
                           for p in parts]).any(0)
        if bad.any():
            raise FloatingPointError(
                f'{type(self).__name__}: the predicted keypoint outputs of '
                f'batch samples {bad.nonzero().flatten().tolist()} contain '
                'NaN/Inf; the OKS targets cannot be computed (training '
                'diverged?)')
        gt_instances = [d.gt_instances for d in batch_data_samples]
        for name in ('transformed_keypoints', 'transformed_areas'):
            if name not in gt_instances[0]:
                raise KeyError(
                    f'{type(self).__name__} needs `gt_instances.{name}` to '
                    'compute the OKS targets: end the train pipeline with '
                    "dict(type='PackOKSPoseInputs') instead of "
                    'PackPoseInputs')
        reference = parts[0]
        gt_keypoints = reference.new_tensor(
            np.concatenate([g.transformed_keypoints
                            for g in gt_instances])[..., :2])
        gt_visible = reference.new_tensor(
            np.concatenate([g.keypoints_visible for g in gt_instances]))
        areas = reference.new_tensor(
            np.concatenate([g.transformed_areas for g in gt_instances]))

        pred_keypoints = self.decode_keypoints(encoded)
        if gt_keypoints.shape[:2] != pred_keypoints.shape[:2]:
            raise ValueError(
                f'{type(self).__name__}: got GT keypoints of shape '
                f'{tuple(gt_keypoints.shape)} for decoded keypoints of shape '
                f'{tuple(pred_keypoints.shape)}: one instance per sample '
                'with the same keypoints is expected')
        if pred_keypoints.shape[1] != len(self.sigmas):
            raise ValueError(
                f'{type(self).__name__}: {pred_keypoints.shape[1]} keypoints '
                f'but the metainfo {self.metainfo!r} has {len(self.sigmas)} '
                'sigmas: set `model.head.metainfo` to the training '
                "dataset's metainfo")
        gt_oks = compute_oks(pred_keypoints, gt_keypoints, gt_visible, areas,
                             self.sigmas)
        weights = (gt_visible > 0).any(dim=1).to(gt_oks)
        return gt_oks, weights

    def quality_loss(self, pose_feature: Tensor, encoded: Encoded,
                     batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        """The OKS loss of a batch, plus its mean absolute error (logged).

        The branch always runs, also while the loss weight is 0 (before the
        lambda_OKS switch), so DistributedDataParallel sees its parameters
        used in every iteration.
        """
        pred_oks = self.oks_net(pose_feature)
        gt_oks, weights = self.get_oks_targets(encoded, batch_data_samples)
        # trained in this process: its predictions are no longer the
        # random init a checkpoint without the branch left
        self.oks_net_missing_keys = None
        loss_oks = self.loss_oks(pred_oks, gt_oks, weights)
        abs_error = ((pred_oks.detach() - gt_oks).abs() * weights).sum()
        return dict(
            loss_oks=loss_oks,
            mae_oks=abs_error / weights.sum().clamp(min=1))

    def loss(self,
             feats,
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """The stock head's losses plus ``loss_oks`` against the online GT
        OKS of the decoded prediction (``mae_oks`` is logged)."""
        with self.record_forward() as record:
            losses = super().loss(feats, batch_data_samples, train_cfg)
        losses.update(
            self.quality_loss(record['pose_features'][-1],
                              record['encoded'][-1], batch_data_samples))
        return losses

    def predict(self,
                feats,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """The stock head's prediction, with ``pose_quality`` (the predicted
        OKS, one float per instance) added to each ``InstanceData``.

        With ``flip_test`` the stock head averages the outputs of the input
        and of its flip; the predicted OKS is averaged the same way (paper
        Sec. IV-A). This is the one prediction path of every OKS-net head.

        Raises:
            ValueError: The loaded checkpoint lacked the branch's weights
                (see :meth:`check_oks_net_weights`).
        """
        self.check_oks_net_weights(test_cfg)
        with self.record_forward() as record:
            results = super().predict(feats, batch_data_samples, test_cfg)
        pose_features = record['pose_features']
        num_views = 2 if test_cfg.get('flip_test', False) else 1
        if len(pose_features) != num_views:
            raise RuntimeError(
                f'{type(self).__name__}: expected {num_views} pose '
                f'feature(s) from the keypoint layer, got '
                f'{len(pose_features)}')
        preds = results[0] if isinstance(results, tuple) else results
        quality = torch.stack([self.oks_net(f) for f in pose_features])
        quality = quality.mean(dim=0).detach().float().cpu().numpy()
        for pred, q in zip(preds, quality):
            pred.pose_quality = q.reshape(1)
        return results


def _oks_net_weight_names(head: nn.Module) -> list:
    """The branch's entries of the head's state dict (BatchNorm's
    ``num_batches_tracked`` left out: torch fills it when missing)."""
    return [
        f'oks_net.{name}' for name in head.oks_net.state_dict()
        if not name.endswith('num_batches_tracked')
    ]


def _record_oks_net_weights(head: nn.Module, state_dict: dict, prefix: str,
                            *args) -> None:
    """Load-state-dict pre-hook of the OKS-net heads: record which branch
    weights the loaded state dict lacks. torch's ``load_state_dict`` and
    MMEngine's ``load_checkpoint`` (``init_model``, the inferencers,
    ``Runner`` ``load_from``) both call it."""
    head.oks_net_missing_keys = [
        prefix + name for name in _oks_net_weight_names(head)
        if prefix + name not in state_dict
    ]
