# Copyright (c) oksnet-mmpose contributors.
"""Export an OKS-net pose model to ONNX with two outputs: the heatmaps and
the predicted OKS (``quality``) of each pose.

The graph starts at the *normalized* image batch, as MMDeploy's pose graphs
do: the data preprocessor (``mean``/``std``, ``bgr_to_rgb``) stays outside
and is written into the ONNX metadata instead, so a deployment runtime
normalizes the crop exactly as ``PoseDataPreprocessor`` does. Decoding the
heatmaps (the codec) and the flip test also stay outside the graph.
"""
import copy
import importlib
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner.checkpoint import CheckpointLoader
from mmpose.apis import init_model
from torch import Tensor, nn

from ..utils import atomic_path, check_output_file

INPUT_NAME = 'input'
OUTPUT_NAMES = ('heatmaps', 'quality')
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
    as a plain module that ONNX can trace: normalized images in, the
    heatmaps and the predicted OKS out.

    It is the non-flip path of :meth:`OKSNetHead.predict` /
    :meth:`OKSNetCPMHead.predict` up to (not including) the codec: the
    backbone (and neck), the head's pose feature, the final heatmap layer
    and the ``oks_net`` branch on the same pose feature. For a multi-stage
    head (stacked hourglass), the heatmaps and the pose feature are the last
    stage's, the ones the package decodes and scores.

    The module is built in eval mode and refuses to run in train mode: with
    BatchNorm in train mode the exported graph would be a different
    function from the one the package tests with.

    Args:
        pose_model (nn.Module): A top-down pose estimator (e.g.
            :class:`TopdownPoseEstimator`) whose ``head`` has an ``oks_net``
            branch (:class:`OKSNetHead`, :class:`OKSNetCPMHead`).
    """

    def __init__(self, pose_model: nn.Module):
        super().__init__()
        head = getattr(pose_model, 'head', None)
        if not isinstance(getattr(head, 'oks_net', None), nn.Module):
            raise ValueError(
                f'{type(pose_model).__name__} with head '
                f'{type(head).__name__} has no OKS-net branch '
                '(`head.oks_net`): only models with OKSNetHead or '
                'OKSNetCPMHead export a pose quality')
        if not hasattr(head, 'forward_heatmaps_and_pose_feature'):
            raise ValueError(
                f'{type(head).__name__} has `oks_net` but no '
                '`forward_heatmaps_and_pose_feature` (PoseQualityMixin\'s '
                'contract): cannot tell which feature the branch reads')
        self.pose_model = pose_model
        self.eval()

    @property
    def input_size(self) -> Optional[Tuple[int, int]]:
        """The model input size ``(w, h)`` of the head's codec, or None
        without a codec. OKS-net's FC layers fix it: the graph has a dynamic
        batch axis only."""
        decoder = getattr(self.pose_model.head, 'decoder', None)
        size = getattr(decoder, 'input_size', None)
        return None if size is None else tuple(int(s) for s in size)

    def forward(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Heatmaps and predicted OKS of a batch of normalized crops.

        Args:
            inputs (Tensor): The batch as ``model.data_preprocessor``
                outputs it: (B, 3, H, W), RGB if the config's
                ``bgr_to_rgb``, normalized with its ``mean`` and ``std``.

        Returns:
            tuple:
            - heatmaps (Tensor): (B, K, h, w), the last stage's for a
              multi-stage head; decode them with the config's codec.
            - quality (Tensor): (B, ), the predicted OKS in [0, 1], what
              ``model.predict`` gives as ``pose_quality`` with
              ``flip_test=False``.
        """
        if self.pose_model.training:
            raise RuntimeError(
                'PoseQualityExportWrapper: the pose model is in train mode '
                '(BatchNorm would use batch statistics); call .eval()')
        feats = self.pose_model.extract_feat(inputs)
        head = self.pose_model.head
        # the earlier stages' heatmaps are not outputs: the exporter drops
        # them from the graph
        heatmaps, pose_feature = head.forward_heatmaps_and_pose_feature(feats)
        return heatmaps[-1], head.oks_net(pose_feature)


def load_pose_config(config: Union[str, Config]) -> Config:
    """Load a config without modifying the caller's.

    Args:
        config (str | Config): A :class:`Config` (copied), a config file, or
            a config of an installed package such as
            ``'mmpose::body_2d_keypoint/...py'``.

    Returns:
        Config: The loaded config.
    """
    if isinstance(config, Config):
        return copy.deepcopy(config)
    config = os.fspath(config)
    if '::' in config:
        return get_config(config)
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    return Config.fromfile(config)


def load_checkpoint_strict(model: nn.Module, checkpoint: str) -> None:
    """Load every parameter and buffer of ``model`` from ``checkpoint``.

    Exporting must not leave a layer at its random init silently, as
    MMEngine's default non-strict loading would: a stock MMPose checkpoint
    has no ``head.oks_net.*``, and its exported quality would be noise.
    torch loads the file with ``weights_only=True``; importing
    ``oksnet_mmpose`` allowlists what MMEngine checkpoints hold.

    Args:
        model (nn.Module): The model to fill.
        checkpoint (str): The checkpoint file (an MMEngine checkpoint with a
            ``state_dict``, or a bare state dict).

    Raises:
        ValueError: The checkpoint misses keys of the model or has keys the
            model does not have (both listed), or a tensor shape differs.
    """
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(loaded, dict):
        raise ValueError(f'checkpoint {checkpoint} holds a '
                         f'{type(loaded).__name__}, not a state dict')
    state_dict = loaded.get('state_dict', loaded)
    # a checkpoint saved from a DDP-wrapped model
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state_dict.items())
    try:
        result = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as err:  # shape mismatches, named by torch
        raise ValueError(
            f'checkpoint {checkpoint} does not fit the model: {err}') from err
    # BatchNorm fills a missing num_batches_tracked, which inference never
    # reads
    missing = [
        k for k in result.missing_keys if not k.endswith('num_batches_tracked')
    ]
    problems = []
    for what, keys in (('misses', missing),
                       ('has unexpected', result.unexpected_keys)):
        if keys:
            shown = ', '.join(keys[:8]) + (', ...' if len(keys) > 8 else '')
            problems.append(f'{what} {len(keys)} keys ({shown})')
    if problems:
        raise ValueError(f'checkpoint {checkpoint} does not fit the model: '
                         f'it {" and ".join(problems)}')


def init_export_model(config: Union[str, Config],
                      checkpoint: Optional[str] = None,
                      cfg_options: Optional[dict] = None
                      ) -> PoseQualityExportWrapper:
    """Build an OKS-net pose model on the CPU, in eval mode, and wrap it for
    export.

    Args:
        config (str | Config): The model config (file, ``'mmpose::...'`` or
            :class:`Config`; not modified).
        checkpoint (str, optional): Checkpoint to load strictly (see
            :func:`load_checkpoint_strict`). None exports the random init,
            with a warning.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        PoseQualityExportWrapper: The wrapped model.
    """
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
    if checkpoint is None:
        warnings.warn(
            f'No checkpoint given for {config_name}: exporting randomly '
            'initialized weights (heatmaps and quality are meaningless)')
    else:
        load_checkpoint_strict(model, checkpoint)
    return wrapper


def export_onnx(config: Union[str, Config],
                checkpoint: Optional[str],
                out_file: str,
                opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = True,
                batch_size: int = 1,
                input_size: Optional[Tuple[int, int]] = None,
                cfg_options: Optional[dict] = None
                ) -> PoseQualityExportWrapper:
    """Export an OKS-net pose model to ONNX.

    The graph has the input ``input`` (B, 3, H, W), normalized as the
    config's data preprocessor does, and the outputs ``heatmaps`` (B, K, h,
    w) and ``quality`` (B, ), see :class:`PoseQualityExportWrapper`. The
    metadata (``metadata_props``) records ``input_size`` ``[w, h]`` and the
    data preprocessor's ``mean``, ``std`` and ``bgr_to_rgb`` (JSON).

    It uses torch's TorchScript exporter (``dynamo=False``): the dynamo
    exporter, the default since torch 2.9, needs ``onnxscript``. The file is
    checked with ``onnx.checker`` and appears only when complete (written
    under a temporary name, then renamed).

    Args:
        config (str | Config): The model config (file, ``'mmpose::...'`` or
            :class:`Config`; not modified).
        checkpoint (str, optional): The trained weights, loaded strictly;
            None exports the random init (with a warning).
        out_file (str): The ``.onnx`` file to write (replaced if present).
        opset (int): ONNX opset version, 11 to the exporter's newest
            (20 in torch 2.13). Defaults to 17.
        dynamic_batch (bool): Make the batch axis dynamic. Defaults to True.
        batch_size (int): The fixed batch size when ``dynamic_batch`` is
            False. Defaults to 1.
        input_size (tuple[int, int], optional): Model input ``(w, h)``;
            defaults to the head codec's ``input_size``.
        cfg_options (dict, optional): Overrides merged into the config.

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
    wrapper = init_export_model(config, checkpoint, cfg_options)
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
        for name in (INPUT_NAME, ) + OUTPUT_NAMES
    } if dynamic_batch else None

    with atomic_path(out_file) as tmp_file, torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy, ),
            tmp_file,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True)
        onnx_model = onnx.load(tmp_file)
        onnx.helper.set_model_props(
            onnx_model, export_metadata(wrapper.pose_model, input_size))
        onnx.save(onnx_model, tmp_file)
        onnx.checker.check_model(tmp_file)
    return wrapper


def export_metadata(pose_model: nn.Module,
                    input_size: Tuple[int, int]) -> Dict[str, str]:
    """What a runtime needs to feed the graph, as JSON strings: the input
    size ``[w, h]`` and the normalization the graph leaves out (``mean`` and
    ``std``, absent when the config does not normalize, and
    ``bgr_to_rgb``), taken from the config ``init_model`` keeps as
    ``pose_model.cfg`` rather than from the float32 buffers, so the numbers
    are the config's own."""
    preprocessor = pose_model.cfg.model.get('data_preprocessor', {})
    metadata = dict(input_size=json.dumps([int(s) for s in input_size]))
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
        dict: ``heatmaps`` and ``quality`` as numpy arrays.
    """
    onnxruntime = _import_optional('onnxruntime')
    if isinstance(inputs, Tensor):
        inputs = inputs.detach().cpu().numpy()
    session = onnxruntime.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    outputs = session.run(list(OUTPUT_NAMES),
                          {INPUT_NAME: inputs.astype(np.float32)})
    return dict(zip(OUTPUT_NAMES, outputs))


def onnx_parity(wrapper: PoseQualityExportWrapper, onnx_file: str,
                inputs: Tensor) -> Dict[str, Tuple[Tuple[int, ...], float]]:
    """Compare an exported file with the PyTorch module on one batch.

    Args:
        wrapper (PoseQualityExportWrapper): The exported module.
        onnx_file (str): The exported file.
        inputs (Tensor): The normalized batch (B, 3, H, W).

    Returns:
        dict: For ``heatmaps`` and ``quality``: the ONNX output's shape and
        its max absolute difference from PyTorch's.
    """
    onnx_outputs = run_onnx(onnx_file, inputs)
    with torch.no_grad():
        torch_outputs = wrapper(inputs)
    return {
        name: (onnx_outputs[name].shape,
               float(np.abs(onnx_outputs[name] - out.numpy()).max()))
        for name, out in zip(OUTPUT_NAMES, torch_outputs)
    }
