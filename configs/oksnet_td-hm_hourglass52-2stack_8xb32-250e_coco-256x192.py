# OKS-net on a 2-stack hourglass (paper Tab. II) at 256x192, on the
# stock MMPose recipe td-hm_hourglass52_8xb32-210e_coco-256x256.py (RMSprop,
# base LR 2.5e-4, as in the paper).
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hourglass52_8xb32-210e_coco-256x256.py']

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4))
custom_imports = dict(imports=['oksnet_mmpose'], allow_failed_imports=False)

# OKS-net paper, Sec. IV-A: 250 epochs, LR x0.1 after epochs 170 and 220,
# lambda_heatmap = 2000, lambda_OKS = 0 for epochs 0-199 and 1 from 200 on.
train_cfg = dict(max_epochs=250)
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=250,
        milestones=[170, 220],
        gamma=0.1,
        by_epoch=True)
]
custom_hooks = [dict(type='OKSLossSwitchHook', switch_epoch=200)]

model = dict(
    # 4 down-samplings per hourglass: 48 px is not divisible by 2**5
    backbone=dict(num_stacks=2, downsample_times=4),
    head=dict(
        type='OKSNetCPMHead',
        num_stages=2,
        decoder=codec,
        loss=dict(
            type='KeypointMSELoss', use_target_weight=True,
            loss_weight=2000.),
        loss_oks=dict(type='HardMinedOKSLoss', loss_weight=0.)))

# the stock train pipeline, ending with PackOKSPoseInputs (it packs the
# transformed GT keypoints and areas the online OKS target needs)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=(192, 256)),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackOKSPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

# pose score = bbox score x predicted OKS; the stock heatmap-mean AP is
# reported too, under coco-heatmap/
val_evaluator = dict(type='QualityCocoMetric')
test_evaluator = val_evaluator
