# The base model of the offline benchmark's model zoo: a plain SimpleBaseline
# (no OKS-net), trained once on a large synthetic `coco_like` training set of
# its own seed (tools/train_base_model.py) and shipped in
# checkpoints/synthetic/. README command 1 adds OKS-net to it with
# tools/add_oksnet.py --schedule finetune, as a user adds it to a model-zoo
# checkpoint. Inherits the stock SimpleBaseline recipe; only what differs is
# set here.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-256x192.py'
]

# not for OKS-net (the base model has none): importing the package lets
# torch >= 2.6 load MMEngine's own checkpoints with weights_only=True, which
# `--resume` needs
custom_imports = dict(imports=['oksnet_mmpose'], allow_failed_imports=False)

data_root = 'data/synthetic_coco_base/'

# 9 epochs of ~24k people (12,000 images), LR x0.1 at 7 and 8: the stock
# 210-epoch step schedule, compressed to what a 2-core CPU trains within
# one working session
train_cfg = dict(max_epochs=9, val_interval=3)
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=200, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=9,
        milestones=[7, 8],
        gamma=0.1,
        by_epoch=True)
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=32)
# a checkpoint every epoch: an interrupted training resumes (--resume)
default_hooks = dict(
    logger=dict(interval=50),
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
    # a half-width ResNet-18 from scratch (no ImageNet weights offline)
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    head=dict(
        in_channels=256,
        deconv_out_channels=(64, 64, 64),
        decoder=codec))

# the stock pipelines with this codec; no RandomHalfBody and a milder
# rotation than the stock 80 degrees (measured on the 12-epoch benchmark
# config: +3.4 AP with DARK)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=40.),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
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
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
# GT boxes, the paper's setting
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
val_evaluator = dict(
    ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
