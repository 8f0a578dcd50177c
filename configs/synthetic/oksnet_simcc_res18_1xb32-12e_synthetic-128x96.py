# The synthetic benchmark's model with a SimCC head (OKSNetSimCCHead on the
# half-width ResNet-18's 4x3 output, no deconvs): the measurement behind the
# SimCC heads' default pose feature (docs/heads.md). Compare
#   python tools/synthetic_benchmark.py --config THIS_FILE ...
# with `--cfg-options model.head.pose_feature=keypoint_layer_output`.
_base_ = ['./oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py']

simcc_codec = dict(
    type='SimCCLabel',
    input_size=(96, 128),
    sigma=(2.45, 2.83),
    simcc_split_ratio=2.0,
    normalize=False,
    use_dark=False)
model = dict(
    head=dict(
        _delete_=True,
        type='OKSNetSimCCHead',
        in_channels=256,
        out_channels=17,
        input_size=simcc_codec['input_size'],
        in_featuremap_size=(3, 4),
        simcc_split_ratio=2.0,
        deconv_out_channels=None,
        loss=dict(type='KLDiscretLoss', use_target_weight=True),
        # lambda_OKS = 0 until OKSLossSwitchHook's epoch, as in the base
        loss_oks=dict(type='HardMinedOKSLoss', loss_weight=0.),
        decoder=simcc_codec),
    test_cfg=dict(flip_test=True))

# the base's train pipeline with the SimCC codec as the target encoder
train_pipeline = [
    dict(step, encoder=simcc_codec)
    if step['type'] == 'GenerateTarget' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
