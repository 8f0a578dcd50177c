# Copyright (c) oksnet-mmpose contributors.
"""Train the offline benchmark's base model (our model zoo's checkpoint) and
export it to checkpoints/synthetic/.

The commands that made the shipped checkpoints (their records, the .json
next to each, repeat them; each later stage's config names the stage
before it as ``load_from``): the first stage, 9 epochs from scratch::

    python tools/train_base_model.py \
        --config configs/synthetic/td-hm_res18_1xb32-9e_synthetic-base-128x96.py \
        --work-dir work_dirs/base_model \
        --name td-hm_res18_synthetic-base-128x96

the second, third and fourth stages, 15 more epochs each (the second
stage's command was this tool's defaults then)::

    python tools/train_base_model.py \
        --config configs/synthetic/td-hm_res18_1xb32-ft-15e_synthetic-base-128x96.py \
        --work-dir work_dirs/base_model_ft15 \
        --name td-hm_res18_synthetic-base-ft-128x96
    python tools/train_base_model.py \
        --config configs/synthetic/td-hm_res18_1xb32-ft2-15e_synthetic-base-128x96.py \
        --work-dir work_dirs/base_model_ft2 \
        --name td-hm_res18_synthetic-base-ft2-128x96
    python tools/train_base_model.py \
        --config configs/synthetic/td-hm_res18_1xb32-ft3-15e_synthetic-base-128x96.py \
        --work-dir work_dirs/base_model_ft3 \
        --name td-hm_res18_synthetic-base-ft3-128x96

The defaults retrain the benchmark's base model (``BASE_MODEL``, the
fourth stage) into ``work_dirs/<its name>``.

Interrupted? Run the same command again: the dataset is kept and the
training resumes from its last epoch checkpoint. See
:mod:`oksnet_mmpose.benchmark.base_model`.
"""
import argparse
import shlex
import sys

from oksnet_mmpose.benchmark.base_model import (export_base_checkpoint,
                                                train_base_model)
from oksnet_mmpose.benchmark.model_zoo import BASE_MODEL, zoo_name
from oksnet_mmpose.benchmark.steps import StepError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=BASE_MODEL.config,
                        help='the base config (default: %(default)s)')
    parser.add_argument('--work-dir',
                        default=f'work_dirs/{zoo_name(BASE_MODEL)}')
    parser.add_argument('--data-dir', default='data/synthetic_coco_base')
    parser.add_argument(
        '--seed', type=int, default=1000,
        help='seed of the training data and of the training; the '
        "benchmark's seeds are small numbers, so their val splits are "
        'never drawn here (default: %(default)s)')
    parser.add_argument('--num-train', type=int, default=12000)
    parser.add_argument('--num-val', type=int, default=400)
    parser.add_argument('--out-dir', default='checkpoints/synthetic')
    parser.add_argument(
        '--name', default=zoo_name(BASE_MODEL),
        help='the checkpoint is written as <out-dir>/<name>-<sha256[:8]>.pth '
        '(default: %(default)s)')
    parser.add_argument('--cfg-options', nargs='*', default=[],
                        help='more --cfg-options for mim train')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    command = ' '.join(['python tools/train_base_model.py'] + [
        shlex.join(sys.argv[1:] if argv is None else argv)
    ]).rstrip()
    try:
        last, state = train_base_model(args.config,
                                       args.work_dir,
                                       args.data_dir,
                                       seed=args.seed,
                                       num_train=args.num_train,
                                       num_val=args.num_val,
                                       extra_options=args.cfg_options)
    except StepError as err:
        print(f'[base model] FAILED: {err}', file=sys.stderr)
        return 1
    path = export_base_checkpoint(
        last, args.out_dir, args.name,
        record=dict(command=command, config=args.config, seed=args.seed,
                    profile='coco_like', num_train=args.num_train,
                    num_val=args.num_val, work_dir=args.work_dir,
                    train_seconds=round(state['train_seconds']),
                    train_runs=state['runs'], load_from=state['load_from']))
    print(f'[base model] checkpoint: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
