# Copyright (c) oksnet-mmpose contributors.
"""The training loop the post-hoc peers share (RescoreNet, CCNet): Adam on
shuffled mini-batches, the training length chosen on a held-out share of
the training poses.

A peer is trained after the pose model, on the model's own predictions on
the training split. The recipes' lengths (DEKR: 20 epochs on COCO train's
poses) are made for ~50x more poses than a synthetic training split has,
so the length is chosen instead: the net of the epoch with the lowest
held-out error within ``max_steps`` optimizer steps is kept.
"""
import copy
import math
from contextlib import contextmanager
from typing import Callable, Iterator, Tuple

import numpy as np
import torch

# the share of the training poses held out to choose the length, and the
# most optimizer steps trained
HELD_OUT = 0.1
MAX_STEPS = 2000
# fewer poses than this are all trained on (no held-out share)
MIN_POSES_TO_HOLD_OUT = 20

# loss_fn(net, index) -> the mean training loss of the samples ``index``
LossFn = Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
# error_fn(net, index) -> the held-out error of the samples ``index``
ErrorFn = Callable[[torch.nn.Module, torch.Tensor], float]


@contextmanager
def one_thread() -> Iterator[None]:
    """A small MLP runs fastest on one thread; on a busy machine several
    threads only wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_with_held_out(net: torch.nn.Module,
                        num_samples: int,
                        loss_fn: LossFn,
                        error_fn: ErrorFn,
                        seed: int = 0,
                        max_steps: int = MAX_STEPS,
                        batch_size: int = 1024,
                        lr: float = 1e-3,
                        held_out: float = HELD_OUT
                        ) -> Tuple[torch.nn.Module, dict]:
    """Train ``net`` with Adam on shuffled mini-batches of samples
    ``0..num_samples-1`` (the last partial batch of an epoch dropped, as
    DEKR's ``train_core`` does) for whole epochs until ``max_steps``
    optimizer steps, keeping the net of the epoch with the lowest
    ``error_fn`` on a held-out share of the samples. Seeded: the split and
    the batches come from one generator seeded with ``seed``; runs on one
    thread.

    Args:
        net (nn.Module): The freshly initialised net.
        num_samples (int): How many training samples there are.
        loss_fn (callable): ``loss_fn(net, index)``: the training loss of
            the samples ``index`` (a LongTensor), to back-propagate.
        error_fn (callable): ``error_fn(net, index)``: the held-out error
            of the samples ``index`` (run without gradients; lower is
            better).
        held_out (float): The share held out; with fewer than
            :data:`MIN_POSES_TO_HOLD_OUT` samples none is, and the last
            net is kept.

    Returns:
        tuple: The trained net (eval mode) and a log dict: ``num_held_out``,
        ``num_steps`` (of the kept net), ``held_out_error`` (of the kept
        net; None without a held-out share), ``first_loss`` and
        ``final_loss`` (mean training loss of the first and the last epoch
        run).
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(num_samples, generator=generator)
    num_held_out = int(round(held_out * num_samples)) \
        if num_samples >= MIN_POSES_TO_HOLD_OUT else 0
    check, fit = order[:num_held_out], order[num_held_out:]
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    batch_size = min(batch_size, len(fit))
    steps_per_epoch = len(fit) // batch_size
    best = (math.inf, None, 0)
    epoch_losses, steps = [], 0
    net.train()
    with one_thread():
        while steps < max_steps:
            shuffled = fit[torch.randperm(len(fit), generator=generator)]
            losses = []
            for step in range(steps_per_epoch):
                loss = loss_fn(
                    net,
                    shuffled[step * batch_size:(step + 1) * batch_size])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            epoch_losses.append(float(np.mean(losses)))
            steps += steps_per_epoch
            if num_held_out:
                with torch.no_grad():
                    error = float(error_fn(net, check))
                # a NaN error is never the best
                if error < best[0]:
                    best = (error, copy.deepcopy(net.state_dict()), steps)
    if num_held_out and best[1] is not None:
        net.load_state_dict(best[1])
    net.eval()
    kept = num_held_out and best[1] is not None
    return net, dict(num_held_out=num_held_out,
                     num_steps=best[2] if kept else steps,
                     held_out_error=best[0] if kept else None,
                     first_loss=epoch_losses[0],
                     final_loss=epoch_losses[-1])
