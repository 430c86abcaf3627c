# Swin-T Faster R-CNN 3x on BDD100K detection: the dense baseline of SPT-T
# on BDD100K (paper Table 2, "Swin-T": 22.4 box AP). From the paper: the
# COCO recipe at COCO's image sizes ("the same image resolution as
# COCO2017"), 10 classes. Ours: Faster R-CNN, i.e. the paper's Mask R-CNN
# without its mask branch (BDD100K's detection labels have no masks), the
# ms-crop augmentation without masks, and the box annotations converted to
# COCO format by tools/dataset_converters/bdd100k_to_coco.py. Data layout:
# data/bdd100k/images/100k/{train,val}/*.jpg, data/bdd100k/annotations/
# det_{train,val}_coco.json.
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)

data_root = 'data/bdd100k/'
classes = ('pedestrian', 'rider', 'car', 'truck', 'bus', 'train',
           'motorcycle', 'bicycle', 'traffic light', 'traffic sign')
model = dict(
    type='FasterRCNN',
    roi_head=dict(
        bbox_head=dict(num_classes=len(classes)),
        mask_roi_extractor=None,
        mask_head=None))

scales = [(480, 1333), (512, 1333), (544, 1333), (576, 1333), (608, 1333),
          (640, 1333), (672, 1333), (704, 1333), (736, 1333), (768, 1333),
          (800, 1333)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='RandomChoiceResize', scales=scales, keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=scales,
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/det_train_coco.json',
        data_prefix=dict(img='images/100k/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
        ann_file='annotations/det_val_coco.json',
        data_prefix=dict(img='images/100k/val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/det_val_coco.json',
        metric='bbox',
        format_only=False),
    dict(type='SelectRatioMetric')  # SPT twins: eval select ratios
]
test_evaluator = val_evaluator
