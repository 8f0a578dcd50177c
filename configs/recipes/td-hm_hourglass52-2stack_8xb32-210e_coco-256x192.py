# The OKS-net paper's hourglass recipe (Tab. II), which MMPose does not ship:
# the stock td-hm_hourglass52_8xb32-210e_coco-256x256.py with 2 stacks at
# 256x192, RMSprop and base LR 2.5e-4. A plain MMPose recipe (no OKS-net):
# ../oksnet_td-hm_hourglass52-*.py are its conversions by tools/add_oksnet.py.
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hourglass52_8xb32-210e_coco-256x256.py']

optim_wrapper = dict(optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4))

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
model = dict(
    # 4 down-samplings per hourglass: 48 px is not divisible by 2**5
    backbone=dict(num_stacks=2, downsample_times=4),
    head=dict(num_stages=2, decoder=codec))


def _with_codec(pipeline):
    """The base pipeline with this input size and codec."""
    return [
        dict(t, input_size=codec['input_size'])
        if t['type'] == 'TopdownAffine' else
        dict(t, encoder=codec) if t['type'] == 'GenerateTarget' else t
        for t in pipeline
    ]


train_pipeline = _with_codec(_base_.train_pipeline)
val_pipeline = _with_codec(_base_.val_pipeline)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
