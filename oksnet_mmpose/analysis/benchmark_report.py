# Copyright (c) oksnet-mmpose contributors.
"""The report of the offline benchmark (``tools/synthetic_benchmark.py``):
every score of the same poses side by side (heatmap mean, OKS-net, the
RescoreNet peer, GT OKS), from the quality analysis of the run's val
results with GT boxes and with detector boxes."""
import json
import os.path as osp
from typing import List, Optional

import numpy as np

from oksnet_mmpose.utils import dump_json_atomic, write_text_atomic
from .analyze import analyze_quality
from .keypoint_eval import AP_NAMES
from .quality_analysis import gap_closed

# the scores compared, in report order, and their labels
SCORES = (('heatmap', 'heatmap-mean'), ('oksnet', 'OKS-net'),
          ('rescorenet', 'RescoreNet'), ('gt_oks', 'GT OKS'))
# detector boxes: the OKS-NMS row of each score (bbox score x pose score)
DETECTOR_ROWS = (('heatmap', 'OKS-NMS'), ('oksnet', 'OKS-net + OKS-NMS'),
                 ('rescorenet', 'RescoreNet + OKS-NMS'))


def _add_gains(summary: dict) -> None:
    """Per score: the share of the heatmap -> GT-OKS gap it closes and its
    AP gain over the heatmap mean at each OKS threshold."""
    heatmap = summary['heatmap']['ap_at_oks']
    for name, _ in SCORES:
        entry = summary[name]
        entry['gap_closed'] = gap_closed(summary, name=name)
        entry['gain_at_oks'] = {
            t: (None if v is None or heatmap[t] is None else v - heatmap[t])
            for t, v in entry['ap_at_oks'].items()
        }


def write_report(work_dir: str, ann_file: str, state: dict,
                 results_name: str) -> dict:
    """``report.md``, ``summary.json``, ``summary_det.json`` in ``work_dir``
    and the full quality analysis of each test run in ``analysis_gt/`` and
    ``analysis_det/`` (``tools/analyze_quality.py``), from the results
    ``test_gt/<results_name>`` and ``test_det/<results_name>`` (every
    pose, with each score's field).

    ``summary.json``: per score (``heatmap``, ``oksnet``, ``rescorenet``,
    ``gt_oks``) the analysis's numbers plus ``gap_closed`` and
    ``gain_at_oks``; and the run's ``profile``, ``base_ap`` (heatmap-mean
    AP with GT boxes) and ``median_gt_oks`` (of the val poses).
    """
    gt_results = osp.join(work_dir, 'test_gt', results_name)
    summary = analyze_quality(ann_file, gt_results,
                              osp.join(work_dir, 'analysis_gt'))
    analyze_quality(ann_file, osp.join(work_dir, 'test_det', results_name),
                    osp.join(work_dir, 'analysis_det'))
    _add_gains(summary)
    with open(gt_results) as f:
        gt_oks = [pose['gt_oks'] for pose in json.load(f)]
    summary.update(profile=state['profile'],
                   base_ap=summary['heatmap']['ap'],
                   median_gt_oks=float(np.median(gt_oks)))
    with open(osp.join(work_dir, 'analysis_det', 'details.json')) as f:
        rescoring = json.load(f)['rescoring']
    # detector boxes: bbox score x pose score, then OKS-NMS, as
    # QualityCocoMetric(nms_mode='oks_nms') reports them
    detector = {
        name: {
            k: rescoring[row][k]
            for k in AP_NAMES
        }
        for name, row in DETECTOR_ROWS
    }
    dump_json_atomic(detector, osp.join(work_dir, 'summary_det.json'))

    with open(osp.join(work_dir, 'analysis_gt', 'report.md')) as f:
        analysis = f.read().split('\n', 1)[1]  # without its title
    lines = [
        '# OKS-net main job: synthetic benchmark (synthetic data)', '',
        f"Held-out val split of the synthetic COCO-format people (profile "
        f"`{state['profile']}`); settings: `{json.dumps(state)}`.", '',
        f"Base model: heatmap-mean AP {summary['base_ap'] * 100:.1f} with GT "
        f"boxes, median GT OKS of its poses {summary['median_gt_oks']:.3f}.",
        '', '## The scores side by side (GT boxes; AP x100)', '',
        '| score | AP | AP50 | AP75 | AR | Pearson | Spearman | ECE | '
        'gap closed | ' +
        ' | '.join(f'gain AP@{t}'
                   for t in summary['heatmap']['gain_at_oks']) + ' |',
        '|---|' + '---|' * (8 + len(summary['heatmap']['gain_at_oks']))
    ]
    for name, label in SCORES:
        s = summary[name]
        cells = [f"{s[k] * 100:.1f}" for k in ('ap', 'ap50', 'ap75', 'ar')]
        cells += [_fmt(s[k]) for k in ('pearson', 'spearman', 'ece')]
        cells.append('n/a' if s['gap_closed'] is
                     None else f"{s['gap_closed'] * 100:.0f} %")
        cells += [('n/a' if v is None else f'{v * 100:+.1f}')
                  for v in s['gain_at_oks'].values()]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    lines += [
        '', 'RescoreNet: DEKR\'s rescoring net (MMPose\'s `RescoreNet`), '
        'trained after the model on its poses of the training split '
        '(`rescorenet_log.json`).', '',
        '## COCO AP with detector boxes (bbox score x pose score, '
        'OKS-NMS; x100)', '',
        '| score | ' + ' | '.join(k.upper() for k in AP_NAMES) + ' |',
        '|---|---|---|---|---|---|---|'
    ]
    for name, label in SCORES[:-1]:
        lines.append(f'| {label} | ' +
                     ' | '.join(f'{detector[name][k] * 100:.1f}'
                                for k in AP_NAMES) + ' |')
    lines += [
        '', 'All analyses of the detector-box run: '
        '`analysis_det/report.md`.', '', '# GT boxes', '', analysis,
        '## Figures (GT boxes)', ''
    ] + [
        f'![{name}](analysis_gt/{name}.png)\n'
        for name in ('scatter_score_vs_gt_oks', 'histograms', 'reliability',
                     'occlusion_pr', 'scoring_errors', 'selection')
    ]
    write_text_atomic('\n'.join(lines), osp.join(work_dir, 'report.md'))
    # last: a work dir holding summary.json holds a complete report
    dump_json_atomic(summary, osp.join(work_dir, 'summary.json'))

    return dict(summary=summary,
                detector_boxes=detector,
                gap_closed=summary['oksnet']['gap_closed'])


def summary_lines(result: dict) -> List[str]:
    """The run's numbers in a few lines, as the main job prints them."""
    summary, detector = result['summary'], result['detector_boxes']
    lines = [
        f"base model: heatmap-mean AP {summary['base_ap'] * 100:.1f}, "
        f"median GT OKS {summary['median_gt_oks']:.3f}"
    ]
    for name, label in SCORES:
        s = summary[name]
        gap = s['gap_closed']
        lines.append(
            f'{label:<13} AP {s["ap"] * 100:5.1f}  Pearson '
            f'{_fmt(s["pearson"])}  Spearman {_fmt(s["spearman"])}  gap '
            f'closed {"n/a" if gap is None else f"{gap * 100:.0f} %"}' +
            (f'  AP (detector boxes) {detector[name]["ap"] * 100:.1f}'
             if name in detector else ''))
    return lines


def _fmt(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.3f}'
