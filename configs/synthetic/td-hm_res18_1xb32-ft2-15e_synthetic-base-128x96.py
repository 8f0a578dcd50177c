# The base model's third stage: the second stage
# (td-hm_res18_1xb32-ft-15e_synthetic-base-128x96.py, shipped in
# checkpoints/synthetic/) trained 15 more epochs on the same training set
# with the same restarted schedule. The second stage still gained after each
# LR step (45.5 -> 50.5 AP before the first, 53.8 and 54.5 after them), and
# a 2-core CPU trains one stage per working session. Made by
# tools/train_base_model.py --config <this file>; see docs/model_zoo.md.
_base_ = ['./td-hm_res18_1xb32-ft-15e_synthetic-base-128x96.py']

load_from = ('checkpoints/synthetic/'
             'td-hm_res18_synthetic-base-ft-128x96-a3c6ded8.pth')
