# Copyright (c) oksnet-mmpose contributors.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from oksnet_mmpose.models import oksnet_head


@HOOKS.register_module()
class FreezeExceptOKSNetHook(Hook):
    """Train only the OKS-net branch (``head.oks_net``): the quality-only
    training path, e.g. from a trained model zoo checkpoint.

    Every other parameter stops requiring gradients and every other module
    stays in eval mode (so BatchNorm running statistics do not move), which
    keeps keypoints and keypoint scores bit-identical to the starting
    checkpoint. Under DistributedDataParallel set
    ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    find_unused_parameters=True)``: the wrapper is built before hooks run.
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        oksnet_head(model, needed_by=type(self).__name__)
        for name, param in model.named_parameters():
            param.requires_grad_(name.startswith('head.oks_net.'))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        # the train loop calls model.train() after `before_train_epoch`
        model = self._model(runner)
        if model.training or not model.head.oks_net.training:
            model.eval()
            model.head.oks_net.train()
