# The name to type: OKS-net on HRNet-W32 at 256x192 (paper Tab. IV).
_base_ = ['./oksnet_td-hm_hrnet-w32_8xb64-250e_coco-256x192.py']
