# The offline benchmark: OKS-net on a small SimpleBaseline (ResNet-18,
# 128x96 input, trained from scratch) on the synthetic COCO-format people of
# tools/generate_synthetic_coco.py, sized so that the whole main job
# (generate, train, test, report) runs on a 2-core CPU in <= 15 minutes.
# Inherits the stock SimpleBaseline recipe; only what differs is set here.
_base_ = ['../oksnet_td-hm_res50_8xb64-250e_coco-256x192.py']

data_root = 'data/synthetic_coco/'

# schedule: heatmaps alone for 5 epochs, then lambda_OKS = 1 (the paper's
# 200 + 50 epochs, compressed; the branch gets a larger share here because
# the run is short)
train_cfg = dict(max_epochs=12, val_interval=12)
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=200, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        milestones=[10],
        gamma=0.1,
        by_epoch=True)
]
custom_hooks = [dict(type='OKSLossSwitchHook', switch_epoch=5)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=32)
# a checkpoint every epoch: an interrupted main job resumes
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1, max_keep_ckpts=2))

# DARK (unbiased encoding and decoding): at a 32x24 heatmap the stock
# target's integer Gaussian centre alone costs up to 2 input pixels, a large
# share of a face keypoint's OKS tolerance at this scale
codec = dict(
    type='MSRAHeatmap',
    input_size=(96, 128),
    heatmap_size=(24, 32),
    sigma=1.5,
    unbiased=True,
    blur_kernel_size=5)
model = dict(
    # a half-width ResNet-18, trained from scratch (no ImageNet weights
    # offline): ~0.4 s per training batch of 32 on the 2-core machine
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    head=dict(
        in_channels=256,
        deconv_out_channels=(64, 64, 64),
        decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    # no RandomHalfBody, and a milder rotation than the stock 80 degrees:
    # 12 short epochs from scratch are spent on fitting, not on invariance
    dict(type='RandomBBoxTransform', rotate_factor=40.),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackOKSPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
# GT boxes (the paper's setting for correlation and the upper bound); the
# main job runs the test split again with the detector boxes
# (test_dataloader.dataset.bbox_file=...person_detection_results/...)
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_val.json',
        bbox_file=None,
        data_prefix=dict(img='val/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
# with GT boxes each box gives one pose: no NMS, so the results JSON holds
# every pose (for the correlation analysis)
val_evaluator = dict(
    ann_file=data_root + 'annotations/person_keypoints_val.json',
    nms_mode='none')
test_evaluator = val_evaluator
