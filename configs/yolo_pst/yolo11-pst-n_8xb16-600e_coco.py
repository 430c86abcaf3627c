# PST paper, Table 2 row "YOLOv11-PST-N": the released yolo11-pst.yaml at
# scale n (2,617,232 parameters in the official build; the paper prints
# 2.8 M). The model and the recipe are the base's; see its header for what
# is the paper's, the reference trainer's and ours.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
