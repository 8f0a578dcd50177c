# Copyright (c) oksnet-mmpose contributors.
"""ONNX export: every OKS-net head family exports the outputs its codec
decodes (``heatmaps``, or ``simcc_x`` and ``simcc_y``) and ``quality``,
named in the graph and in the metadata with the codec, and decoding them
gives the PyTorch model's keypoints; onnxruntime matches PyTorch on the
sample images; bad input is refused without writing a file."""
import json
import os
import re
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.runner.checkpoint import save_checkpoint
from mmengine.structures import InstanceData
from mmpose.registry import DATASETS, KEYPOINT_CODECS
from mmpose.structures import PoseDataSample

from oksnet_mmpose.apis.config_sections import VARIANTS
from oksnet_mmpose.apis.model_loading import load_pose_config
from oksnet_mmpose.apis.onnx_export import export_onnx, run_onnx
from oksnet_mmpose.models import oksnet_head_types
from tests.conftest import load_tool
from tests.test_engine.tiny_model import (build_tiny_model_and_batches,
                                          tiny_config)

STOCK_RES50 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
               'td-hm_res50_8xb64-210e_coco-256x192.py')
ATOL = 1e-4

# A tiny model of every OKS-net head family at a 96x128 input, with
# PyTorch's default init (export builds the model without init_weights).
INPUT_SIZE = (96, 128)
HEATMAP_CODEC = dict(type='MSRAHeatmap', input_size=INPUT_SIZE,
                     heatmap_size=(24, 32), sigma=2.)
SIMCC_CODEC = dict(type='SimCCLabel', input_size=INPUT_SIZE,
                   smoothing_type='gaussian', sigma=(2.4, 2.4),
                   simcc_split_ratio=2.0, normalize=False)
# 64 channels at stride 32: (3, 4)
TINY_RESNET = dict(type='ResNet', depth=18, stem_channels=8, base_channels=8)
# stride 32 -> 4: the heatmap codec's (24, 32)
DECONVS = dict(deconv_out_channels=(16, 16, 16),
               deconv_kernel_sizes=(4, 4, 4))
GAU = dict(hidden_dims=32, s=16, expansion_factor=2, dropout_rate=0.,
           drop_path=0., act_fn='SiLU', use_rel_bias=False, pos_enc=False)
HEATMAPS = ('heatmaps', 'quality')
SIMCC = ('simcc_x', 'simcc_y', 'quality')
# head type: (backbone, head arguments, codec, ONNX output names)
FAMILY_MODELS = {
    'OKSNetHead': (TINY_RESNET, dict(in_channels=64, **DECONVS),
                   HEATMAP_CODEC, HEATMAPS),
    'OKSNetViPNASHead': (TINY_RESNET,
                         dict(in_channels=64, deconv_num_groups=(16, 16, 16),
                              **DECONVS), HEATMAP_CODEC, HEATMAPS),
    # 2-stack hourglass (its stem fixes 256 channels at the top level):
    # the outputs are the last stage's heatmaps
    'OKSNetCPMHead': (dict(type='HourglassNet', downsample_times=2,
                           num_stacks=2, stage_channels=(256, 16, 16),
                           stage_blocks=(1, 1, 1), feat_channel=16),
                      dict(num_stages=2, in_channels=16), HEATMAP_CODEC,
                      HEATMAPS),
    # 2 units: the outputs are the last unit's heatmaps
    'OKSNetMSPNHead': (dict(type='MSPN', unit_channels=16, num_stages=1,
                            num_units=2, num_blocks=[1, 1]),
                       dict(out_shape=(32, 24), unit_channels=16,
                            num_stages=1, num_units=2, level_indices=[0, 1]),
                       HEATMAP_CODEC, HEATMAPS),
    'OKSNetRTMCCHead': (TINY_RESNET,
                        dict(in_channels=64, input_size=INPUT_SIZE,
                             in_featuremap_size=(3, 4),
                             simcc_split_ratio=2.0, final_layer_kernel_size=3,
                             gau_cfg=GAU), SIMCC_CODEC, SIMCC),
    'OKSNetSimCCHead': (TINY_RESNET,
                        dict(in_channels=64, input_size=INPUT_SIZE,
                             in_featuremap_size=(3, 4),
                             simcc_split_ratio=2.0,
                             deconv_out_channels=(16, 16),
                             deconv_kernel_sizes=(4, 4)), SIMCC_CODEC,
                        SIMCC),
}


def family_config(head_type):
    """A top-down model config with the tiny model of ``head_type``."""
    backbone, head, codec, _ = FAMILY_MODELS[head_type]
    return Config(
        dict(default_scope='mmpose',
             codec=codec,
             model=dict(type='TopdownPoseEstimator',
                        data_preprocessor=dict(
                            type='PoseDataPreprocessor',
                            mean=[123.675, 116.28, 103.53],
                            std=[58.395, 57.12, 57.375],
                            bgr_to_rgb=True),
                        backbone=backbone,
                        head=dict(type=head_type,
                                  out_channels=17,
                                  decoder=codec,
                                  **head),
                        test_cfg=dict(flip_test=False))))


def json_config(cfg):
    """A config dict as it reads back from JSON (tuples as lists)."""
    return json.loads(json.dumps(cfg.to_dict() if hasattr(cfg, 'to_dict')
                                 else cfg))


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


def first_instance_per_image(dataset):
    """Indices of the first person instance of each sample image."""
    first = {}
    for i in range(len(dataset)):
        first.setdefault(dataset.get_data_info(i)['img_id'], i)
    return list(first.values())


@pytest.fixture(scope='module')
def exported(trained_resnet18, tmp_path_factory):
    """Export the trained model; preprocess the first person of each of the
    4 sample images with the config's test pipeline and data preprocessor;
    run the exported PyTorch module on them."""
    trained = trained_resnet18
    out_dir = tmp_path_factory.mktemp('onnx_resnet18')
    onnx_file = str(out_dir / 'model.onnx')
    wrapper = export_onnx(trained.config, trained.checkpoint, onnx_file)

    cfg = load_pose_config(trained.config)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    indices = first_instance_per_image(dataset)
    assert len(indices) == 4
    batch = pseudo_collate([dataset[i] for i in indices])
    data = wrapper.pose_model.data_preprocessor(batch, training=False)
    with torch.no_grad():
        # the shipped configs' branch also gives the keypoint terms
        heatmaps, quality, keypoint_quality = wrapper(data['inputs'])
    return SimpleNamespace(cfg=cfg,
                           wrapper=wrapper,
                           onnx_file=onnx_file,
                           out_dir=out_dir,
                           inputs=data['inputs'],
                           data_samples=data['data_samples'],
                           heatmaps=heatmaps,
                           quality=quality,
                           keypoint_quality=keypoint_quality,
                           onnx_outputs=run_onnx(onnx_file, data['inputs']))


def test_graph_names_dynamic_batch_and_metadata(exported):
    model = onnx.load(exported.onnx_file)
    assert [i.name for i in model.graph.input] == ['input']
    names = ['heatmaps', 'quality', 'keypoint_quality']
    assert [o.name for o in model.graph.output] == names
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == 'batch'
    metadata = {p.key: json.loads(p.value) for p in model.metadata_props}
    preprocessor = exported.cfg.model.data_preprocessor
    assert metadata == dict(output_names=names,
                            codec=json_config(exported.cfg.model.head.decoder),
                            input_size=[192, 256],
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
    keypoint_quality = exported.onnx_outputs['keypoint_quality']
    assert keypoint_quality.shape == (4, 17)
    assert keypoint_quality.std() > ATOL
    np.testing.assert_allclose(keypoint_quality,
                               exported.keypoint_quality.numpy(),
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
    for graph_output, field in ((exported.quality, 'pose_quality'),
                                (exported.keypoint_quality,
                                 'keypoint_quality')):
        predicted = np.concatenate(
            [getattr(r.pred_instances, field) for r in results])
        np.testing.assert_allclose(graph_output.numpy(),
                                   predicted,
                                   rtol=0,
                                   atol=1e-7)

    with torch.no_grad():
        head_heatmaps = model.head.forward(backbone_outputs[0])
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


def test_every_registered_oksnet_head_has_an_export_case():
    assert set(FAMILY_MODELS) == set(oksnet_head_types())


@pytest.fixture(scope='module', params=list(FAMILY_MODELS))
def family_export(request, tmp_path_factory):
    """Export the tiny model of a head family with random weights and run
    onnxruntime on a random batch of 2."""
    head_type = request.param
    cfg = family_config(head_type)
    onnx_file = str(tmp_path_factory.mktemp(head_type) / 'model.onnx')
    torch.manual_seed(0)
    wrapper = export_onnx(cfg, None, onnx_file, random_weights=True)
    inputs = torch.randn(2, 3, INPUT_SIZE[1], INPUT_SIZE[0],
                         generator=torch.Generator().manual_seed(1))
    return SimpleNamespace(head_type=head_type,
                           cfg=cfg,
                           output_names=FAMILY_MODELS[head_type][3],
                           wrapper=wrapper,
                           onnx_file=onnx_file,
                           inputs=inputs,
                           onnx_outputs=run_onnx(onnx_file, inputs))


def test_family_outputs_are_named_and_recorded_with_the_codec(
        family_export):
    model = onnx.load(family_export.onnx_file)
    names = [o.name for o in model.graph.output]
    assert names == list(family_export.output_names)
    assert list(family_export.onnx_outputs) == names
    metadata = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert metadata['output_names'] == names
    assert metadata['codec'] == json_config(family_export.cfg.codec)
    assert metadata['input_size'] == list(INPUT_SIZE)
    outputs = family_export.onnx_outputs
    w, h = INPUT_SIZE
    if 'heatmaps' in names:
        # a multi-stage head's last stage only, at the codec's size
        assert outputs['heatmaps'].shape == (2, 17, h // 4, w // 4)
    else:  # both SimCC vectors, at simcc_split_ratio 2
        assert outputs['simcc_x'].shape == (2, 17, w * 2)
        assert outputs['simcc_y'].shape == (2, 17, h * 2)
    assert outputs['quality'].shape == (2, )


def input_frame_samples(num: int) -> list:
    """Data samples whose crop box is the model input: model.predict's
    keypoints stay in the input frame, where the codec decodes."""
    w, h = INPUT_SIZE
    return [
        PoseDataSample(
            metainfo=dict(input_size=INPUT_SIZE,
                          input_center=np.array([w / 2, h / 2]),
                          input_scale=np.array([w, h], dtype=np.float64)),
            gt_instances=InstanceData(
                bboxes=np.array([[0, 0, w, h]], dtype=np.float32),
                bbox_scores=np.ones(1, dtype=np.float32)))
        for _ in range(num)
    ]


def test_family_outputs_decode_to_the_pytorch_keypoints(family_export):
    model = family_export.wrapper.pose_model
    with torch.no_grad():
        results = model.predict(family_export.inputs,
                                input_frame_samples(2))
    torch_keypoints = np.stack(
        [r.pred_instances.keypoints[0] for r in results])
    pose_quality = np.concatenate(
        [r.pred_instances.pose_quality for r in results])

    codec = KEYPOINT_CODECS.build(family_export.cfg.codec)
    outputs = family_export.onnx_outputs
    encoded_names = family_export.output_names[:-1]
    keypoints = np.stack([
        codec.decode(*(outputs[name][i] for name in encoded_names))[0][0]
        for i in range(2)
    ])
    # the comparison means something: the poses are not one point
    assert len(np.unique(keypoints.reshape(-1, 2), axis=0)) >= 5, keypoints
    np.testing.assert_allclose(keypoints, torch_keypoints, rtol=0, atol=1e-3)
    np.testing.assert_allclose(outputs['quality'],
                               pose_quality,
                               rtol=0,
                               atol=1e-5)


def test_refuses_a_model_without_oks_net(tmp_path):
    out = tmp_path / 'stock.onnx'
    with pytest.raises(ValueError,
                       match=r'td-hm_res50_8xb64-210e_coco-256x192\.py: '
                       r'ONNX export: .* has the head HeatmapHead, not an '
                       r'OKS-net head \(the registered OKS-net heads: '
                       r'.*OKSNetRTMCCHead'):
        export_onnx(STOCK_RES50, None, str(out), random_weights=True)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('checkpoint, random_weights, error', [
    (None, False, 'no checkpoint given: pass the trained checkpoint, or '
     r'random_weights=True \(--random-weights\)'),
    ('epoch_1.pth', True, r'both a checkpoint \(epoch_1.pth\) and '
     'random_weights=True'),
])
def test_refuses_random_weights_unless_asked_for_alone(
        tmp_path, checkpoint, random_weights, error):
    with pytest.raises(ValueError, match=error):
        export_onnx(family_config('OKSNetHead'), checkpoint,
                    str(tmp_path / 'model.onnx'),
                    random_weights=random_weights)
    assert os.listdir(tmp_path) == []


def test_refuses_a_missing_checkpoint(tmp_path):
    missing = str(tmp_path / 'no_such_checkpoint.pth')
    with pytest.raises(FileNotFoundError,
                       match='checkpoint file .*no_such_checkpoint.pth '
                       'does not exist'):
        export_onnx(family_config('OKSNetCPMHead'), missing,
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
        export_onnx(family_config('OKSNetCPMHead'),
                    None,
                    str(tmp_path / 'model.onnx'),
                    opset=99,
                    random_weights=True)
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
    with pytest.raises(onnx.checker.ValidationError, match='injected'):
        export_onnx(family_config('OKSNetHead'), None, str(out),
                    random_weights=True)
    assert out.read_text() == 'previous export'
    assert os.listdir(tmp_path) == ['model.onnx']


def test_cli_static_batch_random_weights_simcc(tmp_path, capsys):
    config = str(tmp_path / 'rtmcc.py')
    family_config('OKSNetRTMCCHead').dump(config)
    out = str(tmp_path / 'static.onnx')
    tool = load_tool('export_onnx')
    exit_code = tool.main(
        [config, '--random-weights', '--out', out, '--static-batch', '3'])
    assert exit_code == 0
    printed = capsys.readouterr().out
    assert 'random weights' in printed
    assert 'input  input: (3, 3, 128, 96)' in printed
    diffs = dict(
        re.findall(
            r'output (\w+): \([\d, ]+\)  max \|onnxruntime - torch\| '
            r'= (\S+)', printed))
    assert set(diffs) == {'simcc_x', 'simcc_y', 'quality'}, printed
    assert all(float(d) <= ATOL for d in diffs.values()), printed
    assert 'output simcc_x: (3, 17, 192)' in printed
    assert 'output simcc_y: (3, 17, 256)' in printed
    assert 'output quality: (3,)' in printed
    dims = onnx.load(out).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 3, 128, 96]


def test_cli_refuses_no_checkpoint_without_random_weights(tmp_path, capsys):
    config = str(tmp_path / 'rtmcc.py')
    family_config('OKSNetRTMCCHead').dump(config)
    out = tmp_path / 'model.onnx'
    tool = load_tool('export_onnx')
    assert tool.main([config, '--out', str(out)]) == 2
    assert ('export_onnx: error: no checkpoint given: pass the trained '
            'checkpoint, or random_weights=True (--random-weights)'
            ) in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize('variant', ['pooled', 'keypoint'])
@pytest.mark.parametrize('head_type', ['OKSNetHead', 'OKSNetRTMCCHead'])
def test_keypoint_variants_export_keypoint_quality(head_type, variant,
                                                   tmp_path):
    """The graph of a ``KeypointOKSNet`` branch (the default ``pooled``,
    and ``keypoint``) ends with ``quality`` and ``keypoint_quality``, both
    what ``model.predict`` gives."""
    cfg = family_config(head_type)
    cfg.model.head.oks_net = dict(VARIANTS[variant])
    onnx_file = str(tmp_path / 'model.onnx')
    torch.manual_seed(0)
    wrapper = export_onnx(cfg, None, onnx_file, random_weights=True)
    names = FAMILY_MODELS[head_type][3] + ('keypoint_quality', )
    assert wrapper.output_names == names
    inputs = torch.randn(2, 3, INPUT_SIZE[1], INPUT_SIZE[0],
                         generator=torch.Generator().manual_seed(1))
    outputs = run_onnx(onnx_file, inputs)
    assert list(outputs) == list(names)
    with torch.no_grad():
        results = wrapper.pose_model.predict(inputs, input_frame_samples(2))
    keypoint_quality = np.concatenate(
        [r.pred_instances.keypoint_quality for r in results])
    assert outputs['keypoint_quality'].shape == (2, 17)
    np.testing.assert_allclose(outputs['keypoint_quality'], keypoint_quality,
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        outputs['quality'],
        np.concatenate([r.pred_instances.pose_quality for r in results]),
        rtol=0, atol=1e-5)
