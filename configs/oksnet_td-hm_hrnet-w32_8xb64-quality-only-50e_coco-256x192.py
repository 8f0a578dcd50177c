# Train only the OKS-net branch of a trained HRNet-W32: every other weight
# and BatchNorm statistic is frozen, so keypoints and keypoint scores stay
# bit-identical to the model-zoo checkpoint's; only the pose score changes.
_base_ = ['./oksnet_td-hm_hrnet-w32_8xb64-ft-50e_coco-256x192.py']

custom_hooks = [dict(type='FreezeExceptOKSNetHook')]
# the DDP wrapper is built before the hook freezes the pose network
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
