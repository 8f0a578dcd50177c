# Copyright (c) oksnet-mmpose contributors.
"""ONNX export with two outputs (heatmaps, quality): onnxruntime matches
PyTorch on the sample images, the exported function is the one the package
predicts with, and bad input is refused without writing a file."""
import json
import os
import re
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import save_checkpoint
from mmpose.registry import DATASETS, MODELS

from oksnet_mmpose.apis.onnx_export import (export_onnx, load_pose_config,
                                            run_onnx)
from tests.conftest import load_tool, sample_config
from tests.test_engine.tiny_model import (build_tiny_model_and_batches,
                                          tiny_config)

HOURGLASS = 'oksnet_td-hm_hourglass52-2stack_8xb32-250e_coco-256x192.py'
STOCK_RES50 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
               'td-hm_res50_8xb64-210e_coco-256x192.py')
ATOL = 1e-4


def small_hourglass_config():
    """The 2-stack hourglass OKS-net config on the sample data, with one
    block per level and 64-channel levels below the 256-channel stem (the
    full model exports a 474 MB file): same OKSNetCPMHead, codec and
    pipelines."""
    cfg = sample_config(HOURGLASS)
    cfg.model.backbone.update(stage_channels=(256, 64, 64, 64, 64, 64),
                              stage_blocks=(1, 1, 1, 1, 1, 1),
                              feat_channel=64)
    cfg.model.head.in_channels = 64
    return cfg


def save_as_mmengine(model, cfg, work_dir):
    """Save ``model`` as MMEngine saves checkpoints (numpy arrays in
    ``meta``, loaded with weights_only) and dump ``cfg`` next to it."""
    checkpoint = str(work_dir / 'checkpoint.pth')
    dataset_meta = DATASETS.build(cfg.test_dataloader.dataset).metainfo
    save_checkpoint(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dataset_meta)), checkpoint)
    config = str(work_dir / 'config.py')
    cfg.dump(config)
    return SimpleNamespace(config=config, checkpoint=checkpoint)


@pytest.fixture(scope='module')
def trained_resnet18(tmp_path_factory):
    """``tiny_config()``'s ResNet-18 OKS-net model after 2 Adam steps on the
    sample images with lambda_OKS = 1 (BatchNorm statistics updated), with
    PyTorch's default init: after the stock N(0, 0.001) head init every pose
    would get the same quality."""
    torch.manual_seed(0)
    np.random.seed(0)  # the train pipeline's augmentations
    model, batches = build_tiny_model_and_batches(2)
    model.head.loss_oks.loss_weight = 1.
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    model.train()
    for batch in batches:
        model.train_step(batch, optim)
    return save_as_mmengine(model, tiny_config(),
                            tmp_path_factory.mktemp('resnet18'))


@pytest.fixture(scope='module')
def trained_hourglass(tmp_path_factory):
    """The small hourglass with PyTorch's default init and random BatchNorm
    statistics (far from the init's mean 0, variance 1, with which eval-mode
    BatchNorm is near the identity); no training steps, which would cost
    most of this file's time."""
    init_default_scope('mmpose')
    torch.manual_seed(0)
    cfg = small_hourglass_config()
    model = MODELS.build(cfg.model)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.2)
            module.running_var.uniform_(0.5, 2.)
    return save_as_mmengine(model, cfg, tmp_path_factory.mktemp('hourglass'))


def first_instance_per_image(dataset):
    """Indices of the first person instance of each sample image."""
    first = {}
    for i in range(len(dataset)):
        first.setdefault(dataset.get_data_info(i)['img_id'], i)
    return list(first.values())


@pytest.fixture(scope='module', params=['resnet18', 'hourglass'])
def exported(request, tmp_path_factory):
    """Export a trained model; preprocess the first person of each of the 4
    sample images with the config's test pipeline and data preprocessor;
    run the exported PyTorch module on them."""
    trained = request.getfixturevalue(f'trained_{request.param}')
    out_dir = tmp_path_factory.mktemp(f'onnx_{request.param}')
    onnx_file = str(out_dir / 'model.onnx')
    wrapper = export_onnx(trained.config, trained.checkpoint, onnx_file)

    cfg = load_pose_config(trained.config)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    indices = first_instance_per_image(dataset)
    assert len(indices) == 4
    batch = pseudo_collate([dataset[i] for i in indices])
    data = wrapper.pose_model.data_preprocessor(batch, training=False)
    with torch.no_grad():
        heatmaps, quality = wrapper(data['inputs'])
    return SimpleNamespace(name=request.param,
                           cfg=cfg,
                           wrapper=wrapper,
                           onnx_file=onnx_file,
                           out_dir=out_dir,
                           inputs=data['inputs'],
                           data_samples=data['data_samples'],
                           heatmaps=heatmaps,
                           quality=quality,
                           onnx_outputs=run_onnx(onnx_file, data['inputs']))


def test_graph_names_dynamic_batch_and_metadata(exported):
    model = onnx.load(exported.onnx_file)
    assert [i.name for i in model.graph.input] == ['input']
    assert [o.name for o in model.graph.output] == ['heatmaps', 'quality']
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == 'batch'
    metadata = {p.key: json.loads(p.value) for p in model.metadata_props}
    preprocessor = exported.cfg.model.data_preprocessor
    assert metadata == dict(input_size=[192, 256],
                            mean=list(preprocessor.mean),
                            std=list(preprocessor.std),
                            bgr_to_rgb=True)
    # written under a temporary name, then renamed: nothing else is left
    assert os.listdir(exported.out_dir) == ['model.onnx']


def test_onnxruntime_matches_pytorch_on_sample_images(exported):
    heatmaps = exported.onnx_outputs['heatmaps']
    quality = exported.onnx_outputs['quality']
    assert heatmaps.shape == (4, 17, 64, 48)
    assert quality.shape == (4, )
    # the parity means something: the quality is not saturated and differs
    # between poses by more than the tolerance, the heatmaps are not zero
    assert ((quality > 0.01) & (quality < 0.99)).all(), quality
    assert quality.max() - quality.min() > ATOL, quality
    assert np.abs(heatmaps).max() > 1e-3
    np.testing.assert_allclose(heatmaps,
                               exported.heatmaps.numpy(),
                               rtol=0,
                               atol=ATOL)
    np.testing.assert_allclose(quality,
                               exported.quality.numpy(),
                               rtol=0,
                               atol=ATOL)


def test_exported_function_is_what_the_package_predicts(exported):
    model = exported.wrapper.pose_model
    model.test_cfg = dict(model.test_cfg, flip_test=False)
    assert not model.with_neck
    # the backbone features model.predict computes, to run head.forward on
    backbone_outputs = []
    handle = model.backbone.register_forward_hook(
        lambda module, args, output: backbone_outputs.append(output))
    try:
        with torch.no_grad():
            results = model.predict(exported.inputs, exported.data_samples)
    finally:
        handle.remove()
    pose_quality = np.concatenate(
        [r.pred_instances.pose_quality for r in results])
    np.testing.assert_allclose(exported.quality.numpy(),
                               pose_quality,
                               rtol=0,
                               atol=1e-7)

    with torch.no_grad():
        head_heatmaps = model.head.forward(backbone_outputs[0])
    if exported.name == 'hourglass':
        head_heatmaps = head_heatmaps[-1]  # the stage the package decodes
    torch.testing.assert_close(exported.heatmaps,
                               head_heatmaps,
                               rtol=0,
                               atol=0)


def test_dynamic_batch_gives_the_same_per_sample_results(exported):
    session = onnxruntime.InferenceSession(exported.onnx_file,
                                           providers=['CPUExecutionProvider'])
    inputs = exported.inputs.numpy()
    for i in range(len(inputs)):
        heatmaps, quality = session.run(['heatmaps', 'quality'],
                                        {'input': inputs[i:i + 1]})
        assert heatmaps.shape[0] == quality.shape[0] == 1
        np.testing.assert_allclose(heatmaps[0],
                                   exported.onnx_outputs['heatmaps'][i],
                                   rtol=0,
                                   atol=1e-5)
        np.testing.assert_allclose(quality[0],
                                   exported.onnx_outputs['quality'][i],
                                   rtol=0,
                                   atol=1e-5)


def test_refuses_a_model_without_oks_net(tmp_path):
    out = tmp_path / 'stock.onnx'
    with pytest.raises(ValueError,
                       match=r'td-hm_res50_8xb64-210e_coco-256x192\.py: '
                       r'.*head HeatmapHead has no OKS-net branch'):
        export_onnx(STOCK_RES50, None, str(out))
    assert os.listdir(tmp_path) == []


def test_refuses_a_missing_checkpoint(tmp_path):
    missing = str(tmp_path / 'no_such_checkpoint.pth')
    with pytest.raises(FileNotFoundError,
                       match='checkpoint file .*no_such_checkpoint.pth '
                       'does not exist'):
        export_onnx(small_hourglass_config(), missing,
                    str(tmp_path / 'model.onnx'))
    assert os.listdir(tmp_path) == []


def test_refuses_a_checkpoint_without_oks_net_weights(tmp_path,
                                                      trained_resnet18):
    # what a stock MMPose checkpoint looks like to an OKS-net config: the
    # export would give a random quality
    state_dict = torch.load(trained_resnet18.checkpoint)['state_dict']
    stock_like = str(tmp_path / 'stock_like.pth')
    torch.save(
        {
            'state_dict': {
                k: v
                for k, v in state_dict.items()
                if not k.startswith('head.oks_net')
            }
        }, stock_like)
    out = tmp_path / 'model.onnx'
    with pytest.raises(ValueError,
                       match=r'stock_like\.pth does not fit the model: it '
                       r'misses \d+ keys \(head\.oks_net\.'):
        export_onnx(trained_resnet18.config, stock_like, str(out))
    assert not out.exists()


def test_refuses_an_unsupported_opset(tmp_path):
    with pytest.raises(ValueError, match='opset 99 is not supported'):
        export_onnx(small_hourglass_config(),
                    None,
                    str(tmp_path / 'model.onnx'),
                    opset=99)
    assert os.listdir(tmp_path) == []


def test_failed_check_leaves_the_previous_file_untouched(
        tmp_path, monkeypatch):
    out = tmp_path / 'model.onnx'
    out.write_text('previous export')

    def failing_check(path, *args, **kwargs):
        # the graph is written (under its temporary name) when checked
        assert os.path.getsize(path) > 1000
        raise onnx.checker.ValidationError(f'injected failure on {path}')

    monkeypatch.setattr(onnx.checker, 'check_model', failing_check)
    with pytest.raises(onnx.checker.ValidationError, match='injected'), \
            pytest.warns(UserWarning, match='randomly initialized'):
        export_onnx(tiny_config(), None, str(out))
    assert out.read_text() == 'previous export'
    assert os.listdir(tmp_path) == ['model.onnx']


def test_cli_static_batch_random_init(tmp_path, trained_resnet18, capsys):
    out = str(tmp_path / 'static.onnx')
    tool = load_tool('export_onnx')
    with pytest.warns(UserWarning, match='exporting randomly initialized'):
        exit_code = tool.main(
            [trained_resnet18.config, '--out', out, '--static-batch', '3'])
    assert exit_code == 0
    printed = capsys.readouterr().out
    assert 'input  input: (3, 3, 256, 192)' in printed
    diffs = dict(
        re.findall(
            r'output (\w+): \([\d, ]+\)  max \|onnxruntime - torch\| '
            r'= (\S+)', printed))
    assert set(diffs) == {'heatmaps', 'quality'}, printed
    assert all(float(d) <= ATOL for d in diffs.values()), printed
    assert 'output heatmaps: (3, 17, 64, 48)' in printed
    assert 'output quality: (3,)' in printed
    dims = onnx.load(out).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 3, 256, 192]
