# The base model's fourth stage: the third stage
# (td-hm_res18_1xb32-ft2-15e_synthetic-base-128x96.py, shipped in
# checkpoints/synthetic/) trained 15 more epochs on the same training set
# with the same restarted schedule. The third stage still gained +3.4 AP
# (54.5 -> 57.9 on the base split), most of it after the LR steps, and the
# fine-tuned model shows no gap between its training and val splits: the
# model is still under-trained, not over-fitted. Made by
# tools/train_base_model.py --config <this file>; see docs/model_zoo.md.
_base_ = ['./td-hm_res18_1xb32-ft-15e_synthetic-base-128x96.py']

load_from = ('checkpoints/synthetic/'
             'td-hm_res18_synthetic-base-ft2-128x96-a9a7a724.pth')
