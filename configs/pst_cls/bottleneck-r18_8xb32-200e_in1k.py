# PST paper, Table 3 row "R-18" (17.9 M). The paper's "R-18" is the authors'
# bottleneck net with (2, 2, 2, 2) blocks and a 2048-channel C5 (code), not
# torchvision's ResNet-18; head and recipe as bottleneck-r50.
_base_ = './bottleneck-r50_pst-n_8xb32-200e_in1k.py'
model = dict(backbone=dict(depth=18), neck=None, head=dict(in_channels=2048))
