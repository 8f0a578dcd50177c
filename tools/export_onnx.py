# Copyright (c) oksnet-mmpose contributors.
"""Export an OKS-net pose model to ONNX and check the file against PyTorch.

Outputs: ``heatmaps`` (B, K, h, w) for a heatmap head (the last stage of a
multi-stage one), ``simcc_x`` (B, K, Wx) and ``simcc_y`` (B, K, Wy) for a
SimCC / RTMPose head, then ``quality`` (B, ), the predicted OKS. The input
``input`` (B, 3, H, W) is the crop normalized as the config's data
preprocessor does. The ONNX metadata records the output names, the codec
that decodes them, the input size and the normalization; see
oksnet_mmpose/apis/onnx_export.py.
"""
import argparse
import sys

import torch
from mmengine.config import DictAction

from oksnet_mmpose.apis.onnx_export import (DEFAULT_OPSET, INPUT_NAME,
                                            export_onnx, onnx_parity)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'config', help="config file, or 'mmpose::...' for a stock one")
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file (loaded strictly); omit it only with '
        '--random-weights')
    parser.add_argument(
        '--random-weights',
        action='store_true',
        help='export the random initialisation, without a checkpoint '
        '(outputs that mean nothing: to try the export pipeline)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--opset', type=int, default=DEFAULT_OPSET,
        help=f'ONNX opset version (default {DEFAULT_OPSET})')
    parser.add_argument(
        '--static-batch',
        type=int,
        metavar='N',
        help='export a fixed batch size N instead of a dynamic batch axis')
    parser.add_argument(
        '--parity-batch',
        type=int,
        default=2,
        metavar='N',
        help='batch size of the random input of the parity check '
        '(default 2; the static batch size with --static-batch)')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='fail (exit 1) when an output differs from PyTorch by more '
        '(default 1e-4)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value as in MMPose tools')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        wrapper = export_onnx(
            args.config,
            args.checkpoint,
            args.out,
            opset=args.opset,
            dynamic_batch=args.static_batch is None,
            batch_size=args.static_batch or 1,
            cfg_options=args.cfg_options,
            random_weights=args.random_weights)
    except (FileNotFoundError, ValueError) as err:
        print(f'export_onnx: error: {err}', file=sys.stderr)
        return 2

    w, h = wrapper.input_size
    batch = args.static_batch or args.parity_batch
    weights = 'random weights' if args.random_weights else args.checkpoint
    print(f'wrote {args.out} (opset {args.opset}, {weights})')
    print(f'  input  {INPUT_NAME}: '
          f'({args.static_batch or "batch"}, 3, {h}, {w})')
    inputs = torch.randn(
        batch, 3, h, w, generator=torch.Generator().manual_seed(0))
    parity = onnx_parity(wrapper, args.out, inputs)
    worst = 0.
    for name, (shape, max_abs_diff) in parity.items():
        print(f'  output {name}: {shape}  max |onnxruntime - torch| = '
              f'{max_abs_diff:.3g}')
        worst = max(worst, max_abs_diff)
    if worst > args.atol:
        print(f'export_onnx: parity check FAILED: {worst:.3g} > atol '
              f'{args.atol:g} on a random input of batch {batch}',
              file=sys.stderr)
        return 1
    print(f'parity check passed (atol {args.atol:g}, random input of '
          f'batch {batch})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
