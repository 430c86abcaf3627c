# The SPT rows' backbone and selection loss (Swin with selective packed
# attention, SPA). From the paper: SPA in stages 3-4, window 7 with
# container length 49 (the window's token count), selection threshold 0.01,
# selection-loss weight 0.01, and each SPT the depths of its Swin twin plus
# four stage-3 blocks (SPT-T 2-2-10-2, SPT-S and SPT-B 2-2-22-2). Ours (the
# paper is silent): logistic noise (the two-class Gumbel-Softmax), no
# relative-position bias between packed tokens, packing per window rather
# than per image.
#
# An SPT config lists this file next to its Swin twin and sets
#     model = dict(_base_.spt_models.t, type='SPTMaskRCNN')
# (the twin's `model` cannot be a key of a second base, so these parts have
# a name of their own).
spt_models = {
    name: dict(
        select_loss_weight=0.01,
        backbone=dict(
            type='SPT',
            depths=depths,
            spa_stages=(2, 3),
            container_len=49,
            select_thr=0.01,
            noise='logistic',
            rel_pos_bias=False,
            pack_per_image=False))
    for name, depths in dict(
        t=[2, 2, 10, 2], s=[2, 2, 22, 2], b=[2, 2, 22, 2]).items()
}
