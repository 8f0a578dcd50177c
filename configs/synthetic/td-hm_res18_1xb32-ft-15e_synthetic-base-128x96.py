# The base model's second stage: the 9-epoch base model
# (td-hm_res18_1xb32-9e_synthetic-base-128x96.py, shipped in
# checkpoints/synthetic/) trained 15 more epochs on the same training set,
# with the LR restarted. The 9-epoch curve was still rising (31.2 -> 39.7 ->
# 44.2 AP at epochs 3, 6, 9): a 2-core CPU trains in stages of one working
# session each, and a stage starts from the last one's shipped checkpoint
# (its hash is checked by tests/test_benchmark/test_model_zoo.py). Made by
# tools/train_base_model.py --config <this file>; see docs/model_zoo.md.
_base_ = ['./td-hm_res18_1xb32-9e_synthetic-base-128x96.py']

load_from = ('checkpoints/synthetic/'
             'td-hm_res18_synthetic-base-128x96-0e520a57.pth')

train_cfg = dict(max_epochs=15, val_interval=3)
# the base's warm-up again for the restarted LR, then the steps of 15 epochs
param_scheduler = [
    _base_.param_scheduler[0],
    dict(
        type='MultiStepLR',
        begin=0,
        end=15,
        milestones=[10, 13],
        gamma=0.1,
        by_epoch=True)
]
