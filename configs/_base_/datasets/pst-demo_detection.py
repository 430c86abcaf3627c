# The small COCO-format detection sets of the demos, both built by
# tools/misc/make_demo_data.py and laid out as annotations/instances_
# {train,val}.json with images in train/ and val/:
# * pst_demo: crops of real photographs shipped with scikit-image, four
#   classes (`det`); PST_DEMO_DET_ROOT points elsewhere;
# * heldout: the held-out study's default set (`faces`; the study's --data
#   option swaps in any other); PST_HELDOUT_ROOT points elsewhere.
# A demo config lists this file next to its model's config and reads
#     dataset=dict(_base_.demo_sets.pst_demo.train, pipeline=...)
# (mmengine forbids a key in two bases, and the model's config has the
# dataloaders, so these parts have a name of their own).
demo_sets = {
    name: dict(
        data_root=root,
        classes=classes,
        train=dict(
            data_root=root,
            metainfo=dict(classes=classes),
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/')),
        val=dict(
            data_root=root,
            metainfo=dict(classes=classes),
            ann_file='annotations/instances_val.json',
            data_prefix=dict(img='val/')),
        val_evaluator=dict(ann_file=root + 'annotations/instances_val.json'))
    for name, (root, classes) in dict(
        pst_demo=('{{$PST_DEMO_DET_ROOT:data/pst_demo_det/}}',
                  ('astronaut', 'cat', 'coffee', 'rocket')),
        heldout=('{{$PST_HELDOUT_ROOT:data/heldout_faces/}}',
                 ('face', 'motorcycle', 'clock'))).items()
}
