# OKS-net on the stock MMPose recipe td-hm_res50_8xb64-210e_coco-384x288.py
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-384x288.py']

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
    head=dict(
        type='OKSNetHead',
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
    dict(type='TopdownAffine', input_size=(288, 384)),
    dict(type='GenerateTarget', encoder={{_base_.codec}}),
    dict(type='PackOKSPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# pose score = bbox score x predicted OKS; the stock heatmap-mean AP is
# reported too, under coco-heatmap/
val_evaluator = dict(type='QualityCocoMetric')
test_evaluator = val_evaluator
