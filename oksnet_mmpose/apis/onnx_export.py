# Copyright (c) oksnet-mmpose contributors.
"""Export an OKS-net pose model to ONNX: the encoded prediction the
config's codec decodes (``heatmaps``, or ``simcc_x`` and ``simcc_y``) and
the predicted OKS (``quality``) of each pose.

The graph starts at the *normalized* image batch, as MMDeploy's pose graphs
do: the data preprocessor (``mean``/``std``, ``bgr_to_rgb``) stays outside
and is written into the ONNX metadata instead, so a deployment runtime
normalizes the crop exactly as ``PoseDataPreprocessor`` does. Decoding
(the codec, also recorded in the metadata) and the flip test also stay
outside the graph.
"""
import importlib
import json
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmpose.apis import init_model
from torch import Tensor, nn

from ..models import oksnet_head
from .model_loading import load_checkpoint_strict, load_pose_config
from ..utils import atomic_path, check_output_file

INPUT_NAME = 'input'
# after the head's encoded_output_names; a branch that predicts keypoint
# terms adds KEYPOINT_QUALITY_NAME last
QUALITY_NAME = 'quality'
KEYPOINT_QUALITY_NAME = 'keypoint_quality'
DEFAULT_OPSET = 17
# 11: MMDeploy's default, the first opset with today's Resize (the
# hourglass's nearest upsampling)
MIN_OPSET = 11
try:  # the TorchScript exporter's newest opset (20 in torch 2.13)
    from torch.onnx._constants import \
        ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET as MAX_OPSET
except ImportError:
    MAX_OPSET = None


def _import_optional(name: str):
    """Import ``onnx`` / ``onnxruntime``: only export needs them, and
    ``pip install -e .`` installs them only with the ``tests`` extra."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(
            f'ONNX export needs `{name}`: pip install onnx onnxruntime '
            "(or pip install -e '.[tests]')") from err


class PoseQualityExportWrapper(nn.Module):
    """The function an OKS-net pose model computes for one batch of crops,
    as a plain module that ONNX can trace: normalized images in, the encoded
    prediction and the predicted OKS out.

    It is the non-flip path of the OKS-net heads' ``predict`` up to (not
    including) the codec: the backbone (and neck), the head's forward, and
    the ``oks_net`` branch on the pose feature it reads. The encoded
    prediction is what the package decodes (see
    :meth:`ForwardRecorderMixin.forward_encoded_and_pose_feature`): the
    heatmaps (a multi-stage head's last stage), or the SimCC x and y
    vectors; :attr:`output_names` names the outputs.

    The module is built in eval mode and refuses to run in train mode: with
    BatchNorm in train mode the exported graph would be a different
    function from the one the package tests with.

    Args:
        pose_model (nn.Module): A top-down pose estimator (e.g.
            :class:`TopdownPoseEstimator`) with an OKS-net head (see
            :func:`oksnet_head`).

    Raises:
        ValueError: The model's head is not an OKS-net head.
    """

    def __init__(self, pose_model: nn.Module):
        super().__init__()
        head = oksnet_head(pose_model, needed_by='ONNX export')
        names, layers = head.encoded_output_names, head.encoded_output_layers
        if len(names) != len(layers):
            raise ValueError(
                f'{type(head).__name__} names {len(names)} encoded outputs '
                f'{names} for {len(layers)} encoded output layers: set its '
                '`encoded_output_names`, one per layer')
        self.pose_model = pose_model
        self.eval()

    @property
    def head(self) -> nn.Module:
        """The pose model's OKS-net head."""
        return self.pose_model.head

    @property
    def output_names(self) -> Tuple[str, ...]:
        """The graph's outputs: the head's encoded outputs (``heatmaps``, or
        ``simcc_x``, ``simcc_y``), then ``quality`` and, for a branch that
        predicts keypoint terms, ``keypoint_quality``."""
        quality = (QUALITY_NAME, ) + ((KEYPOINT_QUALITY_NAME, )
                                      if self.head.reads_keypoint_statistics
                                      else ())
        return tuple(self.head.encoded_output_names) + quality

    @property
    def input_size(self) -> Optional[Tuple[int, int]]:
        """The model input size ``(w, h)`` of the head's codec, or None
        without a codec. OKS-net's FC layers fix it: the graph has a dynamic
        batch axis only."""
        decoder = getattr(self.pose_model.head, 'decoder', None)
        size = getattr(decoder, 'input_size', None)
        return None if size is None else tuple(int(s) for s in size)

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Encoded prediction and predicted OKS of a batch of normalized
        crops.

        Args:
            inputs (Tensor): The batch as ``model.data_preprocessor``
                outputs it: (B, 3, H, W), RGB if the config's
                ``bgr_to_rgb``, normalized with its ``mean`` and ``std``.

        Returns:
            tuple: One tensor per :attr:`output_names`:

            - heatmaps (Tensor): (B, K, h, w), the last stage's for a
              multi-stage head; or simcc_x (B, K, Wx) and simcc_y
              (B, K, Wy) for a SimCC head. Decode them with the config's
              codec.
            - quality (Tensor): (B, ), the predicted OKS in [0, 1], what
              ``model.predict`` gives as ``pose_quality`` with
              ``flip_test=False``.
            - keypoint_quality (Tensor): (B, K), the predicted OKS term of
              each keypoint (``keypoint_quality`` of ``model.predict``);
              only for a branch that predicts them.
        """
        if self.pose_model.training:
            raise RuntimeError(
                'PoseQualityExportWrapper: the pose model is in train mode '
                '(BatchNorm would use batch statistics); call .eval()')
        feats = self.pose_model.extract_feat(inputs)
        # a multi-stage head's earlier stages are not outputs: the exporter
        # drops them from the graph
        encoded, pose_feature = self.head.forward_encoded_and_pose_feature(
            feats)
        pose_quality, keypoint_logits = self.head.run_oks_net(
            pose_feature, encoded[0] if len(encoded) == 1 else encoded)
        if keypoint_logits is None:
            return (*encoded, pose_quality)
        return (*encoded, pose_quality, keypoint_logits[0].sigmoid())


def init_export_model(config: Union[str, Config],
                      checkpoint: Optional[str] = None,
                      cfg_options: Optional[dict] = None,
                      random_weights: bool = False
                      ) -> PoseQualityExportWrapper:
    """Build an OKS-net pose model on the CPU, in eval mode, and wrap it for
    export.

    Args:
        config (str | Config): The model config (file, ``'mmpose::...'`` or
            :class:`Config`; not modified).
        checkpoint (str, optional): Checkpoint to load strictly (see
            :func:`load_checkpoint_strict`). None needs ``random_weights``.
        cfg_options (dict, optional): Overrides merged into the config.
        random_weights (bool): Keep the random initialisation (no
            checkpoint): outputs that mean nothing, for trying the export
            pipeline. Defaults to False.

    Returns:
        PoseQualityExportWrapper: The wrapped model.

    Raises:
        ValueError: Neither or both of ``checkpoint`` and
            ``random_weights``; the model has no OKS-net head; the
            checkpoint does not fit the model.
    """
    if checkpoint is None and not random_weights:
        raise ValueError(
            'no checkpoint given: pass the trained checkpoint, or '
            'random_weights=True (--random-weights) to export the random '
            'initialisation, whose outputs mean nothing')
    if checkpoint is not None and random_weights:
        raise ValueError(
            f'both a checkpoint ({checkpoint}) and random_weights=True '
            '(--random-weights) given: pass one')
    if checkpoint is not None and '://' not in checkpoint \
            and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file {checkpoint} does not exist')
    cfg = load_pose_config(config)
    config_name = cfg.filename or '<Config object>'
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    # no init_weights() is called, so the backbone's init_cfg never
    # downloads; init_model clears it anyway when given no cfg_options
    model = init_model(cfg, checkpoint=None, device='cpu')
    try:
        wrapper = PoseQualityExportWrapper(model)
    except ValueError as err:
        raise ValueError(f'{config_name}: {err}') from err
    if checkpoint is not None:
        load_checkpoint_strict(model, checkpoint)
    return wrapper


def export_onnx(config: Union[str, Config],
                checkpoint: Optional[str],
                out_file: str,
                opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = True,
                batch_size: int = 1,
                input_size: Optional[Tuple[int, int]] = None,
                cfg_options: Optional[dict] = None,
                random_weights: bool = False
                ) -> PoseQualityExportWrapper:
    """Export an OKS-net pose model to ONNX.

    The graph has the input ``input`` (B, 3, H, W), normalized as the
    config's data preprocessor does, and the outputs the head's encoded
    prediction (``heatmaps`` (B, K, h, w), or ``simcc_x`` (B, K, Wx) and
    ``simcc_y`` (B, K, Wy)) and ``quality`` (B, ), see
    :class:`PoseQualityExportWrapper`. The metadata (``metadata_props``)
    records, as JSON, ``output_names``, the ``codec`` that decodes them
    (the head's ``decoder`` config), ``input_size`` ``[w, h]`` and the data
    preprocessor's ``mean``, ``std`` and ``bgr_to_rgb`` (see
    :func:`export_metadata`).

    It uses torch's TorchScript exporter (``dynamo=False``): the dynamo
    exporter, the default since torch 2.9, needs ``onnxscript``. The file is
    checked with ``onnx.checker`` and appears only when complete (written
    under a temporary name, then renamed).

    Args:
        config (str | Config): The model config (file, ``'mmpose::...'`` or
            :class:`Config`; not modified).
        checkpoint (str, optional): The trained weights, loaded strictly;
            None needs ``random_weights=True``.
        out_file (str): The ``.onnx`` file to write (replaced if present).
        opset (int): ONNX opset version, 11 to the exporter's newest
            (20 in torch 2.13). Defaults to 17.
        dynamic_batch (bool): Make the batch axis dynamic. Defaults to True.
        batch_size (int): The fixed batch size when ``dynamic_batch`` is
            False. Defaults to 1.
        input_size (tuple[int, int], optional): Model input ``(w, h)``;
            defaults to the head codec's ``input_size``.
        cfg_options (dict, optional): Overrides merged into the config.
        random_weights (bool): Export the random initialisation, without a
            checkpoint. Defaults to False.

    Returns:
        PoseQualityExportWrapper: The exported module (CPU, eval mode), to
        compare the ONNX file with (see :func:`onnx_parity`).
    """
    onnx = _import_optional('onnx')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if opset < MIN_OPSET or (MAX_OPSET is not None and opset > MAX_OPSET):
        raise ValueError(
            f'opset {opset} is not supported: torch {torch.__version__}\'s '
            f'TorchScript exporter takes opsets {MIN_OPSET} to '
            f'{MAX_OPSET or "its newest"}')
    check_output_file(out_file, 'out_file')
    wrapper = init_export_model(config, checkpoint, cfg_options,
                                random_weights)
    input_size = input_size or wrapper.input_size
    if input_size is None:
        raise ValueError('the head has no codec with an `input_size`: pass '
                         'input_size=(w, h)')
    w, h = input_size
    # a batch of 2 when the axis is dynamic: the tracer could otherwise bake
    # a size-1 batch into a reshape
    trace_batch = 2 if dynamic_batch else batch_size
    dummy = torch.randn(
        trace_batch, 3, h, w, generator=torch.Generator().manual_seed(0))
    dynamic_axes = {
        name: {
            0: 'batch'
        }
        for name in (INPUT_NAME, ) + wrapper.output_names
    } if dynamic_batch else None

    with atomic_path(out_file) as tmp_file, torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy, ),
            tmp_file,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=list(wrapper.output_names),
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True)
        onnx_model = onnx.load(tmp_file)
        onnx.helper.set_model_props(
            onnx_model,
            export_metadata(wrapper.pose_model, input_size,
                            wrapper.output_names))
        onnx.save(onnx_model, tmp_file)
        onnx.checker.check_model(tmp_file)
    return wrapper


def export_metadata(pose_model: nn.Module, input_size: Tuple[int, int],
                    output_names: Sequence[str]) -> Dict[str, str]:
    """What a runtime needs to feed the graph and read its outputs, as JSON
    strings: ``output_names`` (the graph's outputs in order), ``codec``
    (the head's ``decoder`` config, which decodes the outputs before
    ``quality``, in that order; absent when the head has none), the input
    size ``[w, h]`` and the normalization the graph leaves out (``mean`` and
    ``std``, absent when the config does not normalize, and
    ``bgr_to_rgb``). The settings are taken from the config ``init_model``
    keeps as ``pose_model.cfg`` rather than from the built modules, so the
    numbers are the config's own."""
    model_cfg = pose_model.cfg.model
    metadata = dict(output_names=json.dumps(list(output_names)))
    decoder = model_cfg.head.get('decoder')
    if decoder is not None:
        if isinstance(decoder, ConfigDict):
            decoder = decoder.to_dict()
        metadata['codec'] = json.dumps(decoder)
    preprocessor = model_cfg.get('data_preprocessor', {})
    metadata['input_size'] = json.dumps([int(s) for s in input_size])
    for key in ('mean', 'std'):
        if preprocessor.get(key) is not None:
            metadata[key] = json.dumps(
                [float(v) for v in preprocessor[key]])
    # either option reverses the channel order of the loaded (BGR) image
    metadata['bgr_to_rgb'] = json.dumps(
        bool(preprocessor.get('bgr_to_rgb', False)
             or preprocessor.get('rgb_to_bgr', False)))
    return metadata


def run_onnx(onnx_file: str, inputs: Union[Tensor, np.ndarray]
             ) -> Dict[str, np.ndarray]:
    """Run an exported model with onnxruntime on the CPU.

    Args:
        onnx_file (str): The exported file.
        inputs (Tensor | np.ndarray): The normalized batch (B, 3, H, W).

    Returns:
        dict: Every output of the graph by name (``heatmaps`` or
        ``simcc_x`` and ``simcc_y``, then ``quality``), as numpy arrays, in
        the graph's order.
    """
    onnxruntime = _import_optional('onnxruntime')
    if isinstance(inputs, Tensor):
        inputs = inputs.detach().cpu().numpy()
    session = onnxruntime.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    names = [output.name for output in session.get_outputs()]
    outputs = session.run(names, {INPUT_NAME: inputs.astype(np.float32)})
    return dict(zip(names, outputs))


def onnx_parity(wrapper: PoseQualityExportWrapper, onnx_file: str,
                inputs: Tensor) -> Dict[str, Tuple[Tuple[int, ...], float]]:
    """Compare an exported file with the PyTorch module on one batch.

    Args:
        wrapper (PoseQualityExportWrapper): The exported module.
        onnx_file (str): The exported file.
        inputs (Tensor): The normalized batch (B, 3, H, W).

    Returns:
        dict: For each of the wrapper's :attr:`output_names`: the ONNX
        output's shape and its max absolute difference from PyTorch's.

    Raises:
        ValueError: The file's outputs are not the wrapper's (another
            model's export).
    """
    onnx_outputs = run_onnx(onnx_file, inputs)
    if tuple(onnx_outputs) != wrapper.output_names:
        raise ValueError(
            f'{onnx_file} has the outputs {list(onnx_outputs)}, the model '
            f'{list(wrapper.output_names)}: not an export of this model')
    with torch.no_grad():
        torch_outputs = wrapper(inputs)
    return {
        name: (onnx_outputs[name].shape,
               float(np.abs(onnx_outputs[name] - out.numpy()).max()))
        for name, out in zip(wrapper.output_names, torch_outputs)
    }
