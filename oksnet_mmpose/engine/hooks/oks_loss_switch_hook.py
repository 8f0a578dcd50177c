# Copyright (c) oksnet-mmpose contributors.
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from oksnet_mmpose.models import oksnet_head


@HOOKS.register_module()
class OKSLossSwitchHook(Hook):
    """Switch the OKS loss weight (the paper's lambda_OKS) at an epoch.

    The paper trains the heatmaps alone first (lambda_OKS = 0 for epochs
    0-199, set ``loss_weight=0`` in the head's ``loss_oks``), then the OKS
    branch too (lambda_OKS = 1 for epochs 200-249): OKS targets computed
    from unstable early heatmaps are meaningless (paper Sec. V-A).

    The weight is derived from the current epoch before each training epoch,
    so resuming a run on either side of the switch gives the right value.

    At the switch the optimizer state of ``head.oks_net`` is cleared. While
    lambda_OKS is 0 the branch runs (for DDP) and gets all-zero gradients;
    Adam still counts those steps, so its bias correction would make the
    first real updates several times larger than a fresh Adam's, which
    drives the sigmoid output into saturation (measured on the synthetic
    benchmark: the predicted OKS collapsed to 0 for every pose).

    Args:
        switch_epoch (int): First (0-based) epoch trained with
            ``loss_weight``.
        loss_weight (float): lambda_OKS from ``switch_epoch`` on.
            Defaults to 1.0.
    """

    priority = 'NORMAL'

    def __init__(self, switch_epoch: int, loss_weight: float = 1.0):
        if switch_epoch < 0:
            raise ValueError('OKSLossSwitchHook: switch_epoch must be >= 0, '
                             f'got {switch_epoch}')
        self.switch_epoch = switch_epoch
        self.loss_weight = loss_weight
        self._initial_weight = None

    def before_train(self, runner) -> None:
        head = oksnet_head(runner.model, needed_by=type(self).__name__)
        self._initial_weight = head.loss_oks.loss_weight

    def before_train_epoch(self, runner) -> None:
        weight = (
            self.loss_weight
            if runner.epoch >= self.switch_epoch else self._initial_weight)
        head = oksnet_head(runner.model, needed_by=type(self).__name__)
        loss_oks = head.loss_oks
        if loss_oks.loss_weight != weight:
            runner.logger.info(f'OKSLossSwitchHook: epoch {runner.epoch}, '
                               f'lambda_OKS = {weight}')
            if runner.epoch == self.switch_epoch:
                self._reset_branch_optimizer_state(runner, head.oks_net)
        loss_oks.loss_weight = weight

    @staticmethod
    def _reset_branch_optimizer_state(runner, oks_net) -> None:
        """Forget the optimizer state (step count, moments) of the
        ``oks_net`` parameters, so they start as with a fresh optimizer."""
        branch = set(oks_net.parameters())
        wrappers = runner.optim_wrapper
        wrappers = wrappers.values() if hasattr(wrappers, 'values') else [
            wrappers
        ]
        for wrapper in wrappers:
            state = wrapper.optimizer.state
            for param in [p for p in state if p in branch]:
                del state[param]
