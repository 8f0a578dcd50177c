# Copyright (c) oksnet-mmpose contributors.
"""A head whose loaded checkpoint lacks the OKS-net branch (a stock MMPose
checkpoint) refuses to predict pose_quality from its random init, unless
``test_cfg.allow_untrained_oks_net`` opts in; a fresh model and a model
trained in this process predict as usual."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.runner.checkpoint import load_checkpoint
from mmpose.registry import DATASETS

from tests.conftest import without_oks_net
from tests.test_engine.tiny_model import (build_tiny_model_and_batches,
                                          tiny_config)

REFUSED = (r'OKSNetHead: the loaded checkpoint lacks {} of the {} OKS-net '
           r'branch weights \(`head\.oks_net\.\*`')


@pytest.fixture(scope='module')
def model_and_batches():
    torch.manual_seed(0)
    model, (train_batch, ) = build_tiny_model_and_batches(1)
    val_set = DATASETS.build(tiny_config().val_dataloader.dataset)
    return model, train_batch, pseudo_collate([val_set[0], val_set[1]])


def _predict(model, batch):
    model.eval()
    with torch.no_grad():
        return model.test_step(batch)


def test_states_of_the_branch(model_and_batches, tmp_path):
    model, train_batch, batch = model_and_batches
    head = model.head
    full = {k: v.clone() for k, v in model.state_dict().items()}
    num_branch = len([
        k for k in full
        if k.startswith('head.oks_net.') and 'num_batches_tracked' not in k
    ])
    assert num_branch > 0
    # a fresh model (MMPose's own head tests build such): predicts
    assert head.oks_net_missing_keys is None
    quality = _predict(model, batch)[0].pred_instances.pose_quality

    # torch's load_state_dict without the branch: refused, with the fix
    model.load_state_dict(without_oks_net(full), strict=False)
    with pytest.raises(ValueError,
                       match=REFUSED.format(num_branch, num_branch)) as err:
        _predict(model, batch)
    message = str(err.value)
    assert '\n' not in message
    for fix in ('-ft-50e_', 'quality-only', 'configs/',
                'model.test_cfg.allow_untrained_oks_net=True'):
        assert fix in message

    # the opt-in predicts with the (here unchanged) branch
    model.test_cfg['allow_untrained_oks_net'] = True
    assert _predict(model, batch)[0].pred_instances.pose_quality == quality
    del model.test_cfg['allow_untrained_oks_net']

    # MMEngine's load_checkpoint (init_model, inferencers, Runner) too
    stock_file, full_file = tmp_path / 'stock.pth', tmp_path / 'full.pth'
    torch.save({'state_dict': without_oks_net(full)}, stock_file)
    torch.save({'state_dict': full}, full_file)
    load_checkpoint(model, str(full_file))
    _predict(model, batch)
    load_checkpoint(model, str(stock_file))
    with pytest.raises(ValueError, match=REFUSED.format(
            num_branch, num_branch)):
        _predict(model, batch)

    # one branch weight missing is refused as well
    partial = dict(full)
    partial.pop(next(k for k in full if k.startswith('head.oks_net.')))
    model.load_state_dict(partial, strict=False)
    with pytest.raises(ValueError, match=REFUSED.format(1, num_branch)):
        _predict(model, batch)

    # trained in this process (a fine-tune / quality-only run validating):
    # predicts
    model.train()
    model.train_step(train_batch,
                     OptimWrapper(torch.optim.SGD(model.parameters(), lr=0)))
    assert head.oks_net_missing_keys is None
    _predict(model, batch)
