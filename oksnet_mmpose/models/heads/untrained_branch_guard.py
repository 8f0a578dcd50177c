# Copyright (c) oksnet-mmpose contributors.
"""The guard against predicting with an untrained OKS-net branch: a head
that loaded a checkpoint without the branch's weights (a stock MMPose
checkpoint) refuses to predict, unless the config opts in."""
from mmpose.utils.typing import ConfigType
from torch import nn

# the test_cfg key that lets a model whose loaded checkpoint lacks the
# branch's weights predict anyway (its pose_quality is then noise)
ALLOW_UNTRAINED_KEY = 'allow_untrained_oks_net'


class UntrainedBranchGuardMixin:
    """Records which ``oks_net.*`` weights the last loaded state dict lacked
    (``oks_net_missing_keys``) and refuses to predict with them. The head
    calls :meth:`_init_untrained_branch_guard` in its ``__init__`` (after
    building ``oks_net``) and :meth:`_mark_oks_net_trained` when it trains
    the branch."""

    def _init_untrained_branch_guard(self) -> None:
        # the branch weights the last loaded state dict lacked: None while
        # the head has never been loaded (a fresh model) or once it trained
        # in this process; see `check_oks_net_weights`
        self.oks_net_missing_keys = None
        self.register_load_state_dict_pre_hook(_record_oks_net_weights)

    def _mark_oks_net_trained(self) -> None:
        """Trained in this process: the branch's predictions are no longer
        the random init a checkpoint without the branch left."""
        self.oks_net_missing_keys = None

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
