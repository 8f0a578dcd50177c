# OKS-net on a 4-stack hourglass (paper Tab. II) at 256x192: the 2-stack
# config (stock hourglass52 recipe) with 4 stacks.
_base_ = ['./oksnet_td-hm_hourglass52-2stack_8xb32-250e_coco-256x192.py']

model = dict(backbone=dict(num_stacks=4), head=dict(num_stages=4))
