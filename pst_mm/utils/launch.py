# Copyright (c) pst-mm contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` share.

One launcher pair serves mmdet and mmpretrain configs: the Runner picks the
registries from the config's ``default_scope``.
"""
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .amp import drop_amp
from .config_lookup import find_config
from .distributed import init_distributed, use_cpu_ddp

COCO_TEST_DEV_ANN = 'annotations/image_info_test-dev2017.json'
COCO_TEST_DEV_IMG = 'test2017/'


def add_cfg_options_arg(parser,
                        example: str = 'model.neck.pst_cfg.topk=8') -> None:
    """``--cfg-options``, as every tool that loads a config takes it."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override settings of the config, e.g. {example}; '
        'key="[a,b]" for lists (quotes needed, no white space)')


def add_common_args(parser) -> None:
    """Arguments both launchers take."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    add_cfg_options_arg(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    """Load ``args.config`` and apply ``--work-dir``, ``--cfg-options`` and
    ``--launcher`` the way OpenMMLab launchers do."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    # a path, or a config name such as retinanet_r50_pst-n_1x_coco
    args.config = find_config(args.config)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def adapt_cfg_to_device(cfg: Config) -> Config:
    """Make a config runnable on the current device, in place.

    Without CUDA: AMP optimizer wrappers become ``OptimWrapper`` (fp32,
    :func:`~pst_mm.utils.amp.drop_amp`), and distributed runs use
    :class:`~pst_mm.utils.distributed.CPUCompatibleDDP`
    (:func:`~pst_mm.utils.distributed.use_cpu_ddp`). With CUDA, nothing
    changes.

    Args:
        cfg (Config): A full training/testing config.

    Returns:
        Config: ``cfg`` itself.
    """
    if not torch.cuda.is_available():
        drop_amp(cfg)
        use_cpu_ddp(cfg)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Fix the config for this device, start distributed, build the Runner.

    The process group is started here (``gloo`` without CUDA) before the
    Runner, which then skips mmengine's CUDA-only start-up.
    """
    adapt_cfg_to_device(cfg)
    init_distributed(cfg.launcher,
                     cfg.get('env_cfg', {}).get('dist_cfg',
                                                {}).get('backend'))
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def finish_distributed() -> None:
    """Destroy the process group before the interpreter exits.

    Left to interpreter shutdown, a gloo group can abort a rank
    ("terminate called without an active exception") after the work is done.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def to_test_dev(cfg: Config,
                outfile_prefix: str,
                ann_file: str = COCO_TEST_DEV_ANN,
                img_prefix: str = COCO_TEST_DEV_IMG) -> Config:
    """Switch a COCO detection config's test split to test-dev, in place.

    The test set becomes the image-info file (no annotations), and the
    evaluator only formats results: ``{outfile_prefix}.bbox.json`` with real
    COCO category ids, ready for ``tools/misc/pack_coco_test_dev.py``.
    The annotation path is joined to the dataset's ``data_root`` once
    (mmdet's commented test-dev block doubles it).

    Args:
        cfg (Config): A detection config with a ``CocoMetric`` evaluator.
        outfile_prefix (str): Where the JSON results go (without suffix).
        ann_file (str): Image-info file, relative to ``data_root``.
            Defaults to COCO's test-dev 2017 image info.
        img_prefix (str): Image folder, relative to ``data_root``.
            Defaults to 'test2017/'.

    Returns:
        Config: ``cfg`` itself.
    """
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset and 'ann_file' not in dataset:
        dataset = dataset.dataset  # wrappers such as ClassBalancedDataset
    if 'ann_file' not in dataset:
        raise ValueError('--test-dev needs a COCO-style test dataset with an '
                         'ann_file; this config has none')
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    metrics = [e for e in evaluators if e.get('type') == 'CocoMetric']
    if not metrics:
        raise ValueError('--test-dev needs a CocoMetric test evaluator, got '
                         f'{[e.get("type") for e in evaluators]}')
    dataset.ann_file = ann_file
    dataset.data_prefix = dict(img=img_prefix)
    dataset.test_mode = True
    data_root = dataset.get('data_root') or ''
    cfg.test_evaluator = dict(
        type='CocoMetric',
        metric=metrics[0].get('metric', 'bbox'),
        ann_file=osp.join(data_root, ann_file),
        format_only=True,
        outfile_prefix=outfile_prefix)
    return cfg
