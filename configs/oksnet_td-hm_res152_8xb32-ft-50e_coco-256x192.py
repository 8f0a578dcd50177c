# OKS-net paper, Tab. XI strategy 3: fine-tune a trained model for 50
# epochs, LR 1e-4, x0.1 after 20 epochs, lambda_OKS = 1 throughout.
_base_ = ['./oksnet_td-hm_res152_8xb32-250e_coco-256x192.py']

load_from = 'https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/td-hm_res152_8xb32-210e_coco-256x192-0345f330_20220928.pth'

train_cfg = dict(max_epochs=50)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=50,
        milestones=[20],
        gamma=0.1,
        by_epoch=True)
]
custom_hooks = []
model = dict(head=dict(loss_oks=dict(loss_weight=1.)))
