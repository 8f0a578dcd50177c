# The OKS-net paper's hourglass recipe (Tab. II) with 8 stacks (see the
# 2-stack one).
_base_ = ['./td-hm_hourglass52-2stack_8xb32-210e_coco-256x192.py']

model = dict(backbone=dict(num_stacks=8), head=dict(num_stages=8))
