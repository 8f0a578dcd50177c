# Copyright (c) oksnet-mmpose contributors.
"""How good is each pose score? The OKS-net paper's analyses of one `mim
test` run (QualityCocoMetric's results JSON) against its COCO annotations.

    python tools/analyze_quality.py ANN_FILE RESULTS_JSON --out-dir DIR

writes DIR/report.md, DIR/summary.json, DIR/details.json and the figures.
"""
import argparse
import sys

from oksnet_mmpose.analysis.analyze import analyze_quality, sigmas_from_meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('ann_file', help='COCO keypoint annotation file')
    parser.add_argument(
        'results',
        help='results JSON of QualityCocoMetric (`outfile_prefix`'
        '.keypoints.json): COCO results with heatmap_score and oksnet_score')
    parser.add_argument('--out-dir', required=True, help='output directory')
    parser.add_argument(
        '--dataset-meta',
        help='MMPose dataset meta file with the keypoint sigmas '
        '(default: COCO, for 17 keypoints)')
    parser.add_argument(
        '--nms-thr',
        type=float,
        default=0.9,
        help='OKS threshold of the NMS in the rescoring comparison '
        '(default: 0.9, as CocoMetric)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        sigmas = sigmas_from_meta(args.dataset_meta) if args.dataset_meta \
            else None
        summary = analyze_quality(args.ann_file,
                                  args.results,
                                  args.out_dir,
                                  sigmas=sigmas,
                                  nms_thr=args.nms_thr)
    except (FileNotFoundError, KeyError, ValueError) as error:
        # one clear line, nothing written as if complete
        print(f'analyze_quality: {error.args[0] if error.args else error}',
              file=sys.stderr)
        return 2

    def fmt(value, scale=1., digits=3):
        return 'n/a' if value is None else f'{value * scale:.{digits}f}'

    for name in ('heatmap', 'oksnet', 'gt_oks'):
        s = summary[name]
        corr = '' if name == 'gt_oks' else \
            f'  Pearson {fmt(s["pearson"])}  ECE {fmt(s["ece"])}'
        print(f'{name:8s} AP {fmt(s["ap"], 100., 1)}{corr}')
    print(f'report: {args.out_dir}/report.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
