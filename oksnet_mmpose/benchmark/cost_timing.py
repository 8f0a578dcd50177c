# Copyright (c) oksnet-mmpose contributors.
"""The timings of the cost benchmark (:mod:`.cost`): CPU inference latency
without vs. with the OKS-net branch, and training-step time without vs.
with the OKS target and loss, each measured as A/B pairs by
:func:`~.timing.interleaved_timing`."""
import copy
import random
from typing import Any, Callable, Dict

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.models.heads import CPMHead, HeatmapHead
from mmpose.registry import DATASETS
from torch import Tensor, nn

from ..analysis.complexity import PoseNetworkForward
from .timing import interleaved_timing


def inference_latency(model: nn.Module, batch_size: int = 1,
                      **schedule) -> Dict[str, Any]:
    """CPU latency of one forward pass of the base network vs. the base
    network plus the branch (:class:`PoseNetworkForward` without and with
    ``oks_net``), interleaved, without flip test or decoding (both would
    add the same time to both variants, so leaving them out makes the
    measured overhead an upper bound).

    The input is random: the networks have no data-dependent control flow.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.
        batch_size (int): Images per forward pass. Defaults to 1.
        **schedule: ``repeats`` (passes of each variant) and the other
            arguments of :func:`interleaved_timing`.

    Returns:
        dict: As :func:`interleaved_timing`, A = base, B = base + OKS-net,
        plus ``batch_size``.
    """
    model.eval()
    width, height = model.head.decoder.input_size
    inputs = torch.randn(
        batch_size,
        3,
        height,
        width,
        generator=torch.Generator().manual_seed(0))
    base = PoseNetworkForward(model)
    with_branch = PoseNetworkForward(model, with_oks_net=True)
    with torch.no_grad():
        timing = interleaved_timing(lambda: base(inputs),
                                    lambda: with_branch(inputs), **schedule)
    return dict(batch_size=batch_size, **timing)


def make_train_batch(cfg: Config,
                     model: nn.Module,
                     batch_size: int,
                     seed: int = 0) -> Dict[str, Any]:
    """One training batch: samples of the config's train dataset through its
    train pipeline (random augmentation seeded), collated and put through
    the model's data preprocessor.

    Args:
        cfg (Config): The config, its train dataset readable (see
            :func:`~.cost.point_train_data_at`).
        model (nn.Module): The model (for its data preprocessor).
        batch_size (int): Samples in the batch; the dataset is cycled when
            it has fewer.
        seed (int): Seed of the augmentation. Defaults to 0.

    Returns:
        dict: ``inputs`` (B, 3, H, W) and ``data_samples``, as the model's
        ``loss`` takes them.
    """
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) == 0:
        raise ValueError('the train dataset of the config is empty')
    samples = [dataset[index % len(dataset)] for index in range(batch_size)]
    return model.data_preprocessor(pseudo_collate(samples), training=True)


def stock_head_loss(head: nn.Module) -> Callable:
    """The ``loss`` of the stock MMPose head an OKS-net head extends, bound
    to ``head``: the heatmap loss (per stage) and accuracy, with no OKS
    target, branch or OKS loss."""
    # CPMHead first: it is not a HeatmapHead, but check the order anyway
    for stock_class in (CPMHead, HeatmapHead):
        if isinstance(head, stock_class):
            return stock_class.loss.__get__(head)
    raise TypeError(f'{type(head).__name__} extends neither HeatmapHead nor '
                    'CPMHead')


def train_step(model: nn.Module, optim_wrapper: OptimWrapper,
               batch: Dict[str, Any], with_oks_net: bool) -> Tensor:
    """One optimizer step, as ``TopdownPoseEstimator.loss`` and
    ``BaseModel.train_step`` run it after the data preprocessor: forward,
    losses, backward, step, zero grad.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.
        optim_wrapper (OptimWrapper): Its optimizer wrapper.
        batch (dict): From :func:`make_train_batch`.
        with_oks_net (bool): ``True``: the OKS-net head's ``loss`` (heatmap
            loss, online OKS target, branch, OKS loss). ``False``: the stock
            head's ``loss`` on the same head (heatmap loss only); the branch
            then gets no gradient, and the optimizer skips its parameters as
            it would for a model without them.

    Returns:
        Tensor: The total loss.
    """
    feats = model.extract_feat(batch['inputs'])
    head_loss = (
        model.head.loss if with_oks_net else stock_head_loss(model.head))
    losses = head_loss(feats, batch['data_samples'], train_cfg=model.train_cfg)
    loss, _ = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return loss.detach()


def train_step_time(cfg: Config, model: nn.Module, batch_size: int = 2,
                    **schedule) -> Dict[str, Any]:
    """Time of a training step with the stock heatmap loss only vs. with the
    OKS target and loss (lambda_OKS = 1), interleaved, on the same batch of
    real images, with the config's optimizer.

    Data loading and the data preprocessor are left out of both variants
    (they cost the same in both), so the measured overhead is an upper bound
    of a training iteration's.

    Args:
        cfg (Config): The config (train data readable, see
            :func:`~.cost.point_train_data_at`).
        model (nn.Module): The model built from it.
        batch_size (int): Samples per step. Defaults to 2.
        **schedule: ``repeats`` (steps of each variant) and the other
            arguments of :func:`interleaved_timing`; the warm-up steps also
            create the optimizer state.

    Returns:
        dict: As :func:`interleaved_timing`, A = heatmap loss only, B = with
        the OKS target and loss, plus ``batch_size``.
    """
    model.train()
    batch = make_train_batch(cfg, model, batch_size)
    optim_wrapper = build_optim_wrapper(model,
                                        copy.deepcopy(cfg.optim_wrapper))
    timing = interleaved_timing(
        lambda: train_step(model, optim_wrapper, batch, with_oks_net=False),
        lambda: train_step(model, optim_wrapper, batch, with_oks_net=True),
        **schedule)
    return dict(batch_size=batch_size, **timing)
