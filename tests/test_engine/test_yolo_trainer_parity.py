# Copyright (c) pst-mm contributors. All rights reserved.
"""The YOLO training loop pieces against Ultralytics 8.3's trainer.

The reference is driven through its own code where it has some: its
``BaseTrainer.build_optimizer``, ``_setup_scheduler`` (the lf lambda and
``LambdaLR``), ``optimizer_step`` (unscale, ``clip_grad_norm_(10)``, step,
``zero_grad``, EMA update) and ``ModelEMA``, called on a namespace that
holds what those methods read. Its per-iteration loop is inline in
``BaseTrainer._do_train`` and ``_setup_train``; :func:`reference_training`
reproduces it line for line from those formulas (nominal-batch
accumulate and decay, warm-up interpolation, the step condition), with the
one change that the warm-up floor, a literal 100 there, is a parameter so
that a short run can finish its warm-up.

Ours runs in an actual mmengine ``Runner`` train loop (``runner.train()``):
``YOLOParamGroupsConstructor`` + ``YOLOOptimWrapper`` +
``YOLOParamSchedulerHook`` + ``YOLOEMAHook``.
"""
import copy
import inspect
import os.path as osp
import uuid
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import REPO
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader

# (sets YOLO_OFFLINE before ultralytics is imported)
from ultralytics_reference import import_ultralytics, needs_ultralytics

import pst_mm  # noqa: F401
from pst_mm.engine import (YOLOAmpOptimWrapper, YOLOEMAHook, YOLOModelEMA,
                           YOLOOptimWrapper, YOLOParamGroupsConstructor,
                           YOLOParamSchedulerHook)

SGD = dict(type='SGD', lr=0.01, momentum=0.937, nesterov=True,
           weight_decay=5e-4)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: intra-op threads only add overhead (a lot of it on a
    busy machine)."""
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


class ToyModel(BaseModel):
    """Conv (weight, bias) + BN + Linear; a sum-of-squares loss."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(self.bn(self.conv(inputs)).mean((2, 3)))
        return dict(loss=(out**2).sum()) if mode == 'loss' else out


def tiny_yolo():
    """pst-mm's YOLODetector and YOLOv11Head (the real losses, scaled by the
    batch) on a small backbone and neck, for 64x64 inputs."""
    init_default_scope('mmdet')
    bn = dict(type='BN', momentum=0.03, eps=0.001)
    torch.manual_seed(0)
    # the recipe's preprocessing: RGB / 255, padded to a multiple of 32
    recipe = Config.fromfile(
        osp.join(REPO, 'configs/_base_/yolo-pst_paper-recipe_coco.py'))
    model = MODELS.build(
        dict(
            type='YOLODetector',
            data_preprocessor=recipe.model.data_preprocessor,
            backbone=dict(
                type='CSPDarknet',
                deepen_factor=0.33,
                widen_factor=0.125,
                out_indices=(2, 3, 4)),
            neck=dict(
                type='ChannelMapper',
                in_channels=[32, 64, 128],
                out_channels=16,
                kernel_size=1,
                norm_cfg=bn,
                act_cfg=dict(type='SiLU')),
            bbox_head=dict(
                type='YOLOv11Head',
                num_classes=3,
                in_channels=[16, 16, 16],
                strides=(8, 16, 32),
                reg_max=4)))
    model.init_weights()  # the Runner's own call becomes a no-op
    return model


class Recorder(Hook):
    """Per iteration: each group's lr / momentum, accumulate, whether the
    optimizer stepped, the loss; and the grad norms before clipping."""

    priority = 'LOWEST'

    def __init__(self):
        self.rows, self.losses = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        wrapper = runner.optim_wrapper
        self.rows.append(
            (tuple(g['lr'] for g in wrapper.optimizer.param_groups),
             tuple(g['momentum'] for g in wrapper.optimizer.param_groups),
             wrapper.accumulate, wrapper.last_opt_step == runner.iter))
        self.losses.append(outputs['loss'].detach().item())


def run_ours(model, loader, work_dir, epochs, nbs, hook_args,
             ema=False):
    """Train ``model`` in place with an mmengine Runner."""
    recorder = Recorder()
    hooks = [dict(type='YOLOParamSchedulerHook', **hook_args)]
    if ema:
        hooks.append(dict(type='YOLOEMAHook', priority=49))
    runner = Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'parity_{uuid.uuid4().hex}',
        train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(
            type='YOLOOptimWrapper',
            constructor='YOLOParamGroupsConstructor',
            batch_size_per_gpu=loader.batch_size,
            nbs=nbs,
            optimizer=SGD),
        custom_hooks=hooks + [recorder],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1000),
            checkpoint=dict(type='CheckpointHook', interval=1000)),
        default_scope='mmdet',
        log_level='WARNING')
    runner.train()
    return runner, recorder


def reference_setup(model, batch_size, nbs, epochs, **overrides):
    """``BaseTrainer._setup_train`` (world size 1, so ``batch_size`` is the
    total): the nominal-batch accumulate and decay, its
    ``build_optimizer``, ``_setup_scheduler``, ``ModelEMA``, a scaler."""
    import_ultralytics()
    from ultralytics.cfg import get_cfg
    from ultralytics.engine.trainer import BaseTrainer
    from ultralytics.utils.torch_utils import ModelEMA
    args = get_cfg(overrides=dict(
        optimizer='SGD', batch=batch_size, nbs=nbs, epochs=epochs,
        **overrides))
    trainer = SimpleNamespace(args=args, epochs=epochs, model=model,
                              batch_size=args.batch)
    trainer.accumulate = max(round(args.nbs / trainer.batch_size), 1)
    weight_decay = (args.weight_decay * trainer.batch_size *
                    trainer.accumulate / args.nbs)
    trainer.optimizer = BaseTrainer.build_optimizer(
        trainer, model=model, name=args.optimizer, lr=args.lr0,
        momentum=args.momentum, decay=weight_decay)
    BaseTrainer._setup_scheduler(trainer)
    trainer.scheduler.last_epoch = -1  # start_epoch - 1
    trainer.ema = ModelEMA(model)
    trainer.scaler = torch.amp.GradScaler('cuda', enabled=False)
    return trainer


def reference_training(model, loader, epochs, nbs, warmup_epochs,
                       warmup_min_iters, warmup_bias_lr=0.1,
                       train_step=None):
    """``BaseTrainer._do_train``'s loop on ``model`` (see the module
    docstring). With ``train_step=None`` only the schedule runs."""
    from ultralytics.engine.trainer import BaseTrainer
    trainer = reference_setup(
        model, loader.batch_size, nbs, epochs, warmup_epochs=warmup_epochs,
        warmup_bias_lr=warmup_bias_lr)
    args, accumulate = trainer.args, trainer.accumulate
    nb = len(loader)
    nw = max(round(args.warmup_epochs * nb), warmup_min_iters) \
        if args.warmup_epochs > 0 else -1
    last_opt_step = -1
    trainer.optimizer.zero_grad()
    rows, losses = [], []
    for epoch in range(epochs):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            trainer.scheduler.step()
        model.train()
        for i, batch in enumerate(loader):
            ni = i + nb * epoch
            if ni <= nw:
                xi = [0, nw]
                accumulate = max(1, int(np.interp(
                    ni, xi, [1, args.nbs / trainer.batch_size]).round()))
                for j, x in enumerate(trainer.optimizer.param_groups):
                    x['lr'] = np.interp(ni, xi, [
                        args.warmup_bias_lr if j == 0 else 0.0,
                        x['initial_lr'] * trainer.lf(epoch)
                    ])
                    if 'momentum' in x:
                        x['momentum'] = np.interp(
                            ni, xi, [args.warmup_momentum, args.momentum])
            stepped = ni - last_opt_step >= accumulate
            if train_step is not None:
                loss = train_step(model, batch)
                losses.append(loss.detach().item())
                trainer.scaler.scale(loss).backward()
                if stepped:
                    BaseTrainer.optimizer_step(trainer)
            if stepped:
                last_opt_step = ni
            groups = trainer.optimizer.param_groups
            rows.append((tuple(float(g['lr']) for g in groups),
                         tuple(float(g['momentum']) for g in groups),
                         accumulate, stepped))
    return trainer, rows, losses


def mm_train_step(model, batch):
    """What mmengine's ``BaseModel.train_step`` computes before
    ``update_params``."""
    data = model.data_preprocessor(batch, True)
    loss, _ = model.parse_losses(model._run_forward(data, mode='loss'))
    return loss


def toy_loader(num_iters, batch_size):
    g = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randn(3, 6, 6, generator=g))
            for _ in range(num_iters * batch_size)]
    return DataLoader(data, batch_size=batch_size, shuffle=False,
                      collate_fn=default_collate)


@needs_ultralytics
def test_defaults_are_the_reference_defaults():
    import_ultralytics()
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.torch_utils import ModelEMA
    args = get_cfg()
    hook = YOLOParamSchedulerHook()
    assert (hook.lrf, hook.warmup_epochs, hook.warmup_momentum,
            hook.warmup_bias_lr, hook.warmup_min_iters) == (
                args.lrf, args.warmup_epochs, args.warmup_momentum,
                args.warmup_bias_lr, 100)
    wrapper = YOLOOptimWrapper(
        torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1),
        batch_size_per_gpu=16)
    assert wrapper.nbs == args.nbs
    assert wrapper.clip_grad_kwargs == dict(max_norm=10.0)
    ema_defaults = inspect.signature(ModelEMA).parameters
    ours = inspect.signature(YOLOEMAHook).parameters
    assert 1 - ours['momentum'].default == ema_defaults['decay'].default
    assert ours['gamma'].default == ema_defaults['tau'].default


@needs_ultralytics
@pytest.mark.parametrize('per_gpu, world_size', [(1, 1), (2, 1), (16, 1),
                                                 (48, 1), (16, 4), (16, 8),
                                                 (32, 8)])
def test_param_groups_and_decay_equal_build_optimizer(monkeypatch, per_gpu,
                                                      world_size):
    """Same parameters in the same groups and order, same hyper-parameters
    (the decay scaled by the nominal batch); N GPUs x B images get what the
    reference gives at batch N * B."""
    from pst_mm.engine.optimizers import yolo_optim_wrapper
    monkeypatch.setattr(yolo_optim_wrapper, 'get_world_size',
                        lambda: world_size)
    model = tiny_yolo()
    ref = reference_setup(model, per_gpu * world_size, 64, 1).optimizer
    ours = YOLOParamGroupsConstructor(
        dict(type='YOLOOptimWrapper', batch_size_per_gpu=per_gpu,
             optimizer=SGD))(model).optimizer
    assert type(ours) is type(ref) and len(ours.param_groups) == 3
    for g_ours, g_ref in zip(ours.param_groups, ref.param_groups):
        assert [id(p) for p in g_ours['params']] == \
            [id(p) for p in g_ref['params']]
        for key in ('lr', 'momentum', 'weight_decay', 'nesterov',
                    'dampening'):
            assert g_ours[key] == g_ref[key], key
    # tiny_yolo's biases, other weights and norm weights, every parameter
    assert [len(g['params']) for g in ours.param_groups] == [62, 63, 56]
    assert sum(map(len, (g['params'] for g in ours.param_groups))) == len(
        list(model.parameters()))
    # decay 5e-4 scaled by the nominal batch: total * accumulate / nbs
    total = per_gpu * world_size
    assert [g['weight_decay'] for g in ours.param_groups] == pytest.approx(
        [0.0, 5e-4 * total * max(round(64 / total), 1) / 64, 0.0])


@needs_ultralytics
@pytest.mark.parametrize(
    'epochs, nb, batch_size, nbs, warmup_epochs, warmup_min_iters, bias_lr',
    [
        # warm-up ends inside epoch 1 (round(10.5) = 10 by half-to-even),
        # accumulation 1 -> 4 (interp 2.5 rounds to 2)
        (3, 7, 2, 8, 1.5, 8, 0.1),
        # the reference's literal floor: max(round(1 * 50), 100) = 100
        (3, 50, 4, 64, 1.0, 100, 0.1),
        # total batch above nbs (accumulate 1), no bias warm-up (paper text)
        (3, 7, 4, 2, 1.0, 5, 0.0),
        # warm-up longer than the run
        (3, 7, 2, 64, 3.0, 100, 0.1),
        # warm-up off
        (3, 7, 2, 8, 0.0, 100, 0.1),
    ])
def test_schedule_equals_reference(tmp_path, epochs, nb, batch_size, nbs,
                                   warmup_epochs, warmup_min_iters,
                                   bias_lr):
    """lr and momentum of every group, accumulate, and the step iterations,
    at every iteration, are the reference's (exactly)."""
    torch.manual_seed(0)
    model = ToyModel()
    _, ref_rows, _ = reference_training(
        copy.deepcopy(model), toy_loader(nb, batch_size), epochs, nbs,
        warmup_epochs, warmup_min_iters, bias_lr)
    runner, rec = run_ours(
        model, toy_loader(nb, batch_size), tmp_path, epochs, nbs,
        dict(warmup_epochs=warmup_epochs,
             warmup_min_iters=warmup_min_iters, warmup_bias_lr=bias_lr))
    assert len(rec.rows) == len(ref_rows) == epochs * nb
    for ni, (ours, ref) in enumerate(zip(rec.rows, ref_rows)):
        assert ours == ref, f'iteration {ni}: {ours} != {ref}'
    if nbs / batch_size > 1.5 and warmup_epochs > 0:
        assert len({row[2] for row in ref_rows}) > 1  # accumulation ramps


@needs_ultralytics
def test_lockstep_with_reference_trainer(tmp_path):
    """Same model, same batches, fp32: our Runner loop and the reference
    loop give the same loss at every iteration and the same weights and EMA
    weights at the end (21 optimizer steps, gradient clipping active)."""
    epochs, nb, batch_size, nbs = 4, 9, 2, 4
    hook_args = dict(warmup_epochs=1.0, warmup_min_iters=14)
    packed = demo_mm_inputs(
        nb * batch_size, [[3, 64, 64]] * (nb * batch_size), num_classes=3,
        use_box_type=False)
    samples = [dict(inputs=i, data_samples=d)
               for i, d in zip(packed['inputs'], packed['data_samples'])]
    loader = DataLoader(samples, batch_size=batch_size, shuffle=False,
                        collate_fn=pseudo_collate)
    model = tiny_yolo()
    ref_model = copy.deepcopy(model)

    runner, rec = run_ours(model, loader, tmp_path, epochs, nbs,
                           hook_args, ema=True)
    trainer, ref_rows, ref_losses = reference_training(
        ref_model, loader, epochs, nbs, train_step=mm_train_step,
        warmup_bias_lr=0.1, **hook_args)

    steps = sum(row[3] for row in ref_rows)
    assert steps == 21 and len({row[2] for row in ref_rows}) == 2
    assert [row[2:] for row in rec.rows] == [row[2:] for row in ref_rows]
    np.testing.assert_allclose(rec.losses, ref_losses, rtol=1e-6)
    # the clip at 10 bites (the losses are summed over the batch)
    assert runner.message_hub.get_scalar('train/grad_norm').current() > 10

    ema_hook = next(h for h in runner.hooks if isinstance(h, YOLOEMAHook))
    assert int(ema_hook.ema_model.steps) == steps == trainer.ema.updates
    ref, ref_ema = ref_model.state_dict(), trainer.ema.ema.state_dict()
    ckpt = torch.load(tmp_path / f'epoch_{epochs}.pth', weights_only=True)
    ours = dict(
        model=model.state_dict(),
        ema=ema_hook.ema_model.module.state_dict(),
        # the checkpoint's weights are the EMA's, as with EMAHook
        checkpoint=ckpt['state_dict'])
    for name, state in ours.items():
        expected = ref if name == 'model' else ref_ema
        assert state.keys() == expected.keys()
        for key, value in expected.items():
            torch.testing.assert_close(
                state[key], value, rtol=1e-6, atol=1e-7, msg=key)
    # and the EMA is not simply the model
    assert not torch.equal(ref['backbone.stem.conv.conv.weight'],
                           ref_ema['backbone.stem.conv.conv.weight'])


@needs_ultralytics
def test_ema_first_update_averages_instead_of_copying():
    import_ultralytics()
    from ultralytics.utils.torch_utils import ModelEMA
    torch.manual_seed(0)
    model = ToyModel()
    ema = YOLOModelEMA(copy.deepcopy(model))
    ref = ModelEMA(copy.deepcopy(model))
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
            model.bn.running_mean.add_(1.0)
            model.bn.num_batches_tracked.add_(1)
        ema.update_parameters(model)
        ref.update(model)
        for key, value in ref.ema.state_dict().items():
            torch.testing.assert_close(ema.module.state_dict()[key], value,
                                       rtol=1e-6, atol=1e-7)
    assert int(ema.module.bn.num_batches_tracked) == 0


def test_amp_wrapper_unscales_before_clipping(monkeypatch):
    """The AMP wrapper (MRO: our accumulation rule, then AmpOptimWrapper)
    with a CPU GradScaler at scale 2^10 updates exactly as the fp32 one."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    torch.manual_seed(0)
    models = [ToyModel(), None]
    models[1] = copy.deepcopy(models[0])
    cfg = dict(batch_size_per_gpu=2, nbs=8, optimizer=SGD)
    fp32 = YOLOParamGroupsConstructor(
        dict(cfg, type='YOLOOptimWrapper'))(models[0])
    amp = YOLOParamGroupsConstructor(
        dict(cfg, type='YOLOAmpOptimWrapper'))(models[1])
    assert isinstance(amp, YOLOAmpOptimWrapper)
    amp.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0**10)
    x = torch.randn(2, 3, 6, 6)
    grad_norms = []
    for ni, acc in enumerate([1, 1, 2, 2, 2, 4, 4, 4, 4, 4]):
        for wrapper, model in zip((fp32, amp), models):
            wrapper.accumulate = acc
            wrapper.update_params(model(x, mode='loss')['loss'] * 50)
        grad_norms.append(
            fp32.message_hub.get_scalar('train/grad_norm').current())
        assert fp32.last_opt_step == amp.last_opt_step
    assert max(grad_norms) > 10
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize('kwargs, match', [
    (dict(lrf=1.5), 'lrf'),
    (dict(warmup_epochs=-1), 'warmup_epochs'),
    (dict(warmup_min_iters=0), 'warmup_min_iters'),
    (dict(warmup_min_iters=2.5), 'warmup_min_iters'),
    (dict(warmup_momentum=1.0), 'warmup_momentum'),
    (dict(warmup_bias_lr=-0.1), 'warmup_bias_lr'),
])
def test_bad_hook_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        YOLOParamSchedulerHook(**kwargs)


@pytest.mark.parametrize('kwargs, match', [
    (dict(momentum=0.0), 'momentum'),
    (dict(momentum=1.0), 'momentum'),
    (dict(gamma=0), 'gamma'),
])
def test_bad_ema_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        YOLOEMAHook(**kwargs)


@pytest.mark.parametrize('cfg, paramwise, match', [
    (dict(nbs=0), None, 'nbs'),
    (dict(batch_size_per_gpu=0), None, 'batch_size_per_gpu'),
    (dict(accumulative_counts=4), None, 'accumulative_counts'),
    (dict(clip_grad=dict(type='value', clip_value=1.0)), None, 'clip_grad'),
    (dict(type='OptimWrapper'), None, 'YOLOOptimWrapper'),
    (dict(optimizer=dict(SGD, type='AdamW')), None, 'SGD'),
    (dict(optimizer=dict(SGD, nesterov=False)), None, 'nesterov'),
    (dict(optimizer=dict(SGD, momentum=1.0)), None, 'momentum'),
    (dict(optimizer=dict(SGD, momentum=-0.1)), None, 'momentum'),
    (dict(optimizer=dict(SGD, lr=0.0)), None, 'lr'),
    (dict(optimizer=dict(SGD, weight_decay=-1.0)), None, 'weight_decay'),
    ({}, dict(norm_decay_mult=0), 'paramwise_cfg'),
])
def test_bad_optimizer_options(cfg, paramwise, match):
    full = dict(type='YOLOOptimWrapper', batch_size_per_gpu=16,
                optimizer=SGD)
    full.update(cfg)
    with pytest.raises(ValueError, match=match):
        YOLOParamGroupsConstructor(full, paramwise)(ToyModel())


def test_hook_rejects_other_schedulers_and_batch_mismatch(tmp_path):
    loader = toy_loader(2, 2)

    def train(batch_size_per_gpu, **runner_kwargs):
        Runner(
            model=ToyModel(), work_dir=str(tmp_path),
            experiment_name=f'parity_{uuid.uuid4().hex}',
            train_dataloader=loader,
            train_cfg=dict(by_epoch=True, max_epochs=1),
            optim_wrapper=dict(
                type='YOLOOptimWrapper',
                constructor='YOLOParamGroupsConstructor',
                batch_size_per_gpu=batch_size_per_gpu, optimizer=SGD),
            custom_hooks=[dict(type='YOLOParamSchedulerHook')],
            default_scope='mmdet', log_level='WARNING',
            **runner_kwargs).train()

    with pytest.raises(ValueError, match='param_scheduler'):
        train(2, param_scheduler=dict(type='ConstantLR', factor=1.0))
    with pytest.raises(ValueError, match='batch_size_per_gpu 4'):
        train(4)
