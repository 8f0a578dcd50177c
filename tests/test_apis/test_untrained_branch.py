# Copyright (c) oksnet-mmpose contributors.
"""A checkpoint without the OKS-net branch (what a stock MMPose checkpoint
is to an OKS-net config) at every test-time entry point: Runner.test (what
`mim test` runs), init_model + inference_topdown, the inferencer and
infer_files (what the demo runs) refuse it and write nothing;
model.test_cfg.allow_untrained_oks_net opts in."""
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.apis import inference_topdown, init_model

from oksnet_mmpose.apis import OKSNetInferencer, infer_files
from tests.conftest import SAMPLE_ROOT, save_stock_layout

IMAGE = osp.join(SAMPLE_ROOT, 'val2017', '000000196141.jpg')
REFUSED = 'the loaded checkpoint lacks'
OPT_IN = 'model.test_cfg.allow_untrained_oks_net=True'


@pytest.fixture(scope='module')
def stock_layout(trained_oksnet, tmp_path_factory):
    """The trained checkpoint without `head.oks_net.*` (the layout of a
    stock MMPose checkpoint), and the config with the opt-in set."""
    tmp = tmp_path_factory.mktemp('stock_layout')
    stock = save_stock_layout(trained_oksnet.checkpoint,
                              str(tmp / 'stock_layout.pth'))
    cfg = Config.fromfile(trained_oksnet.config)
    cfg.model.test_cfg.allow_untrained_oks_net = True
    opt_in_config = str(tmp / 'opt_in.py')
    cfg.dump(opt_in_config)
    return stock, opt_in_config


def _runner_test(config, checkpoint, work_dir, **options):
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    cfg.load_from = checkpoint
    cfg.test_evaluator.outfile_prefix = str(work_dir / 'results')
    cfg.merge_from_dict(options)
    return Runner.from_cfg(cfg).test()


def test_runner_test_refuses_then_opts_in(trained_oksnet, stock_layout,
                                          tmp_path):
    stock, opt_in_config = stock_layout
    with pytest.raises(ValueError, match=REFUSED) as err:
        _runner_test(trained_oksnet.config, stock, tmp_path / 'refused')
    assert OPT_IN in str(err.value)
    assert not (tmp_path / 'refused' / 'results.keypoints.json').exists()

    metrics = _runner_test(opt_in_config, stock, tmp_path / 'opt_in')
    assert 0 <= metrics['coco/AP'] <= 1
    assert (tmp_path / 'opt_in' / 'results.keypoints.json').exists()


def test_init_model_and_inference_topdown(trained_oksnet, stock_layout):
    stock, opt_in_config = stock_layout
    model = init_model(trained_oksnet.config, stock, device='cpu')
    with pytest.raises(ValueError, match=REFUSED):
        inference_topdown(model, IMAGE)
    model = init_model(opt_in_config, stock, device='cpu')
    (result, ) = inference_topdown(model, IMAGE)
    assert result.pred_instances.pose_quality.shape == (1, )


def test_inferencer_refuses_then_opts_in(trained_oksnet, stock_layout,
                                         tmp_path):
    stock, opt_in_config = stock_layout
    inferencer = OKSNetInferencer(trained_oksnet.config, stock,
                                  det_model='whole_image', device='cpu')
    out_dir = tmp_path / 'refused'
    with pytest.raises(ValueError, match=REFUSED):
        next(inferencer(IMAGE, pred_out_dir=str(out_dir)))
    assert not out_dir.exists() or not os.listdir(out_dir)

    inferencer = OKSNetInferencer(opt_in_config, stock,
                                  det_model='whole_image', device='cpu')
    (pose, ) = next(inferencer(IMAGE))['predictions'][0]
    assert 0 <= pose['pose_quality'] <= 1


def test_infer_files_refuses_then_opts_in(trained_oksnet, stock_layout,
                                          tmp_path):
    stock, opt_in_config = stock_layout
    out_dir = tmp_path / 'refused'
    with pytest.raises(ValueError, match=REFUSED) as err:
        infer_files(IMAGE, trained_oksnet.config, stock, str(out_dir),
                    device='cpu')
    # one line: what tools/demo.py prints
    message = str(err.value)
    assert OPT_IN in message and '\n' not in message.strip()
    assert not out_dir.exists() or not os.listdir(out_dir)

    out_dir = tmp_path / 'opt_in'
    infer_files(IMAGE, opt_in_config, stock, str(out_dir), device='cpu',
                draw=False)
    assert os.listdir(out_dir) == ['000000196141.json']
