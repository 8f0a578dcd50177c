# Copyright (c) oksnet-mmpose contributors.
"""What an OKS-net head records while the stock head's forward runs: the
pose feature the branch reads and the encoded prediction the codec
decodes, through forward hooks on the layers a head family names."""
from contextlib import contextmanager
from functools import partial
from typing import Dict, Iterator, List, Tuple

from torch import Tensor, nn


class ForwardRecorderMixin:
    """Forward hooks that record, while the stock ``forward`` runs, the two
    tensors OKS-net needs:

    - the *pose feature*: what the head's *keypoint layer* reads (the layer
      that outputs one map per keypoint); with ``pose_feature=
      'keypoint_layer_output'`` its output instead;
    - the *encoded* prediction: what the codec decodes (the heatmaps or the
      SimCC vectors), for the OKS target and the ONNX outputs.

    A head family names the layers to hook (``keypoint_layer``,
    ``encoded_output_layers``) and what their outputs are
    (``encoded_output_names``, the ONNX output names). The head sets
    ``self.pose_feature`` (one of :attr:`pose_feature_choices`).
    """

    pose_feature_choices = ('keypoint_layer_input', 'keypoint_layer_output')
    # one name per `encoded_output_layers` entry, in the same order: the
    # ONNX output names, and what a codec's `decode` takes in that order
    encoded_output_names: Tuple[str, ...] = ('heatmaps', )

    # -- what a head family provides --------------------------------------

    @property
    def keypoint_layer(self) -> nn.Module:
        """The layer that outputs the keypoint maps."""
        raise NotImplementedError

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        """The layers whose outputs are what the codec decodes."""
        raise NotImplementedError

    # -- recording ---------------------------------------------------------

    @contextmanager
    def record_forward(self) -> Iterator[Dict[str, list]]:
        """While the stock forward runs inside this context, record each
        call's pose feature (``record['pose_features']``) and encoded
        prediction (``record['encoded']``: a tensor, or a tuple with one
        tensor per encoded output layer); a flip test gives two of each,
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

    def forward_encoded_and_pose_feature(
            self, feats) -> Tuple[Tuple[Tensor, ...], Tensor]:
        """The encoded prediction the package decodes (one tensor per
        :attr:`encoded_output_names`: the last stage's heatmaps of a
        multi-stage head, both SimCC vectors of a SimCC head) and the pose
        feature the branch reads, from one forward (ONNX export)."""
        with self.record_forward() as record:
            self.forward(feats)
        encoded = record['encoded'][-1]
        encoded = (encoded, ) if isinstance(encoded, Tensor) else encoded
        return tuple(encoded), record['pose_features'][-1]

    def forward_heatmaps_and_pose_feature(
            self, feats) -> Tuple[List[Tensor], Tensor]:
        """The stock head's outputs as a list (the heatmaps of every stage,
        or the SimCC x and y vectors) and the pose feature the OKS-net branch
        reads, computed once (cost benchmark: every stage's FLOPs)."""
        with self.record_forward() as record:
            outputs = self.forward(feats)
        outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
        return outputs, record['pose_features'][-1]

    def forward_pose_feature(self, feats) -> Tensor:
        """The pose feature the OKS-net branch reads."""
        return self.forward_heatmaps_and_pose_feature(feats)[1]
