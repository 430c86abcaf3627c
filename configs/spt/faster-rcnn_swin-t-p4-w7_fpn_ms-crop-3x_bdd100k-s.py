# Swin-T Faster R-CNN 3x on BDD-S, BDD100K's images whose boxes cover less
# than 25 % of the pixels (paper Sec. 4.1, Table 3, "Swin-T": 5.5 box AP).
# Both splits filtered (ours; the paper does not say which):
#   python tools/dataset_converters/bdd100k_to_coco.py LABELS_JSON \
#       data/bdd100k/annotations/det_{train,val}_coco_bdd-s.json \
#       --max-object-ratio 0.25
_base_ = './faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py'
data_root = 'data/bdd100k/'
train_dataloader = dict(
    dataset=dict(ann_file='annotations/det_train_coco_bdd-s.json'))
val_dataloader = dict(
    dataset=dict(ann_file='annotations/det_val_coco_bdd-s.json'))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        _base_.val_evaluator[0],
        ann_file=data_root + 'annotations/det_val_coco_bdd-s.json'),
    _base_.val_evaluator[1]
]
test_evaluator = val_evaluator
