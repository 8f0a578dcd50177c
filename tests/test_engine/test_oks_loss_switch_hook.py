# Copyright (c) oksnet-mmpose contributors.
import json
import os
import socket
import time
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.logging import MMLogger
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from oksnet_mmpose.engine import FreezeExceptOKSNetHook, OKSLossSwitchHook
from tests.test_engine.tiny_model import build_tiny_model_and_batches


def _runner(model, epoch, optim_wrapper=None):
    if optim_wrapper is None:
        optim_wrapper = OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1))
    return SimpleNamespace(
        model=model, epoch=epoch, optim_wrapper=optim_wrapper,
        logger=MMLogger.get_current_instance())


def test_switch_follows_the_epoch_also_when_resuming():
    model, _ = build_tiny_model_and_batches(0)
    model.head.loss_oks.loss_weight = 0.
    hook = OKSLossSwitchHook(switch_epoch=200, loss_weight=1.)
    hook.before_train(_runner(model, 0))
    for epoch, expected in [(0, 0.), (199, 0.), (200, 1.), (249, 1.)]:
        hook.before_train_epoch(_runner(model, epoch))
        assert model.head.loss_oks.loss_weight == expected
    # resumed after the switch: a fresh hook still gives lambda = 1
    resumed = OKSLossSwitchHook(switch_epoch=200)
    model.head.loss_oks.loss_weight = 0.
    resumed.before_train(_runner(model, 230))
    resumed.before_train_epoch(_runner(model, 230))
    assert model.head.loss_oks.loss_weight == 1.


def test_switch_gives_the_branch_a_fresh_optimizer_state():
    model, _ = build_tiny_model_and_batches(0)
    model.head.loss_oks.loss_weight = 0.
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    branch = list(model.head.oks_net.parameters())
    other = model.head.final_layer.weight
    for _ in range(3):  # lambda_OKS = 0: zero gradients, but Adam steps
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        optim.step()
    runner = SimpleNamespace(model=model, epoch=0, optim_wrapper=optim,
                             logger=MMLogger.get_current_instance())
    hook = OKSLossSwitchHook(switch_epoch=2)
    hook.before_train(runner)
    for epoch in (0, 1):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        assert all(p in optim.optimizer.state for p in branch)
    runner.epoch = 2
    hook.before_train_epoch(runner)
    assert not any(p in optim.optimizer.state for p in branch)
    assert optim.optimizer.state[other]['step'] == 3

    # resuming after the switch keeps the (loaded) state
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optim.step()
    model.head.loss_oks.loss_weight = 0.
    resumed = OKSLossSwitchHook(switch_epoch=2)
    resumed.before_train(runner)
    runner.epoch = 3
    resumed.before_train_epoch(runner)
    assert model.head.loss_oks.loss_weight == 1.
    assert all(p in optim.optimizer.state for p in branch)


@pytest.mark.parametrize('hook', [
    OKSLossSwitchHook(switch_epoch=1),
    FreezeExceptOKSNetHook(),
])
def test_hooks_name_a_model_without_an_oksnet_head(hook):
    runner = SimpleNamespace(model=SimpleNamespace(head=torch.nn.Identity()))
    with pytest.raises(ValueError,
                       match=f'{type(hook).__name__}: the model '
                       r'\(SimpleNamespace\) has the head Identity, not an '
                       r'OKS-net head \(the registered OKS-net heads: '
                       r'.*OKSNetSimCCHead'):
        hook.before_train(runner)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, out_file):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.manual_seed(0)  # the same initial weights on both ranks
    model, batches = build_tiny_model_and_batches(4, offset=2 * rank)
    model.head.loss_oks.loss_weight = 0.
    # find_unused_parameters=False: every parameter must get a gradient in
    # every iteration, also while lambda_OKS is 0
    ddp = MMDistributedDataParallel(module=model)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    hook = OKSLossSwitchHook(switch_epoch=2)
    hook.before_train(_runner(ddp, 0, optim))
    log = []
    for epoch, batch in enumerate(batches):
        hook.before_train_epoch(_runner(ddp, epoch, optim))
        log_vars = ddp.train_step(batch, optim)
        log.append(dict(lambda_oks=model.head.loss_oks.loss_weight,
                        **{k: float(v) for k, v in log_vars.items()}))
    checksum = torch.stack([p.detach().sum() for p in model.parameters()])
    gathered = [torch.zeros_like(checksum) for _ in range(world_size)]
    dist.all_gather(gathered, checksum)
    if rank == 0:
        with open(out_file, 'w') as f:
            json.dump(dict(log=log, synced=bool(
                torch.equal(gathered[0], gathered[1]))), f)
    dist.barrier()
    # Exit without Python teardown: freeing the DDP reducer joins gloo's
    # worker thread while holding the GIL, and that thread may still need
    # the GIL to free the all_gather's tensors (a torch teardown deadlock,
    # seen once in a CI run of this test).
    os._exit(0)


def test_two_process_ddp_with_lambda_zero_then_one(tmp_path):
    out_file = str(tmp_path / 'ddp.json')
    workers = mp.spawn(_ddp_worker, args=(2, _free_port(), out_file),
                       nprocs=2, join=False)
    deadline = time.monotonic() + 600
    while not workers.join(timeout=5):  # raises if a worker failed
        if time.monotonic() > deadline:
            for process in workers.processes:
                process.kill()
            pytest.fail('the 2-process DDP run did not finish in 600 s')
    result = json.load(open(out_file))
    assert [r['lambda_oks'] for r in result['log']] == [0., 0., 1., 1.]
    assert all(torch.isfinite(torch.tensor(r['loss_oks']))
               for r in result['log'])
    assert result['log'][0]['loss_oks'] == 0.
    assert result['log'][2]['loss_oks'] > 0.
    assert result['synced']  # gradients were all-reduced
