# Copyright (c) oksnet-mmpose contributors.
"""The report of the offline benchmark (``tools/synthetic_benchmark.py``):
every score of the same poses side by side (heatmap mean, OKS-net, the
post-hoc peers RescoreNet and CCNet, GT OKS), from the quality analysis of
the run's val results with GT boxes and with detector boxes."""
import contextlib
import io
import json
import os.path as osp
from typing import List, Optional

import numpy as np

from oksnet_mmpose.analysis import analyze_quality, gap_closed, load_results
from oksnet_mmpose.analysis.keypoint_eval import AP_NAMES
from oksnet_mmpose.utils import dump_json_atomic, write_text_atomic

# the scores compared, in report order, and their labels
SCORES = (('heatmap', 'heatmap-mean'), ('oksnet', 'OKS-net'),
          ('rescorenet', 'RescoreNet'), ('ccnet', 'CCNet'),
          ('gt_oks', 'GT OKS'))
# detector boxes: the OKS-NMS row of each score (bbox score x pose score)
DETECTOR_ROWS = (('heatmap', 'OKS-NMS'), ('oksnet', 'OKS-net + OKS-NMS'),
                 ('rescorenet', 'RescoreNet + OKS-NMS'),
                 ('ccnet', 'CCNet + OKS-NMS'))


def _add_gains(summary: dict) -> None:
    """Per score: the share of the heatmap -> GT-OKS gap it closes and its
    AP gain over the heatmap mean at each OKS threshold."""
    heatmap = summary['heatmap']['ap_at_oks']
    for name, _ in SCORES:
        if name not in summary:  # no peer in the quality-only row
            continue
        entry = summary[name]
        entry['gap_closed'] = gap_closed(summary, name=name)
        entry['gain_at_oks'] = {
            t: (None if v is None or heatmap[t] is None else v - heatmap[t])
            for t, v in entry['ap_at_oks'].items()
        }


def train_split_quality(ann_file: str, results_file: str) -> dict:
    """How good the model's poses are on its own training split (GT boxes):
    the heatmap-mean AP and the median GT OKS. A post-hoc peer or a branch
    learns from these poses, which are better than unseen ones; the report
    sets them beside the val split's."""
    from xtcocotools.coco import COCO

    from oksnet_mmpose.analysis.analyze import default_sigmas
    from oksnet_mmpose.analysis.keypoint_eval import (KeypointEvaluator,
                                                      ap_names)
    poses = load_results(ann_file, results_file, required=('heatmap_score',
                                                           'gt_oks'))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(ann_file)
    evaluator = KeypointEvaluator(coco, poses,
                                  default_sigmas(len(poses[0]['keypoints'])
                                                 // 3))
    coco_eval = evaluator.evaluate(
        np.asarray([p['heatmap_score'] for p in poses]))
    return dict(heatmap_ap=ap_names(coco_eval)['ap'],
                median_gt_oks=float(np.median([p['gt_oks'] for p in poses])),
                num_poses=len(poses))


def _analyse_run(run_dir: str, ann_file: str, results_name: str) -> tuple:
    """The quality analyses of one model's val runs (``analysis_gt/``,
    ``analysis_det/`` in ``run_dir``): the GT-box summary with its gains,
    the median GT OKS of its poses, and the detector-box APs per score."""
    gt_results = osp.join(run_dir, 'test_gt', results_name)
    summary = analyze_quality(ann_file, gt_results,
                              osp.join(run_dir, 'analysis_gt'))
    analyze_quality(ann_file, osp.join(run_dir, 'test_det', results_name),
                    osp.join(run_dir, 'analysis_det'))
    _add_gains(summary)
    with open(gt_results) as f:
        median_gt_oks = float(
            np.median([pose['gt_oks'] for pose in json.load(f)]))
    with open(osp.join(run_dir, 'analysis_det', 'details.json')) as f:
        rescoring = json.load(f)['rescoring']
    # detector boxes: bbox score x pose score, then OKS-NMS, as
    # QualityCocoMetric(nms_mode='oks_nms') reports them
    detector = {
        name: {k: rescoring[row][k]
               for k in AP_NAMES}
        for name, row in DETECTOR_ROWS if name in summary
    }
    return summary, median_gt_oks, detector


def write_report(work_dir: str,
                 ann_file: str,
                 state: dict,
                 results_name: str,
                 train_split: Optional[dict] = None,
                 quality_only_dir: Optional[str] = None,
                 quality_only_results: str = 'results.keypoints.json'
                 ) -> dict:
    """``report.md``, ``summary.json``, ``summary_det.json`` in ``work_dir``
    and the full quality analysis of each test run in ``analysis_gt/`` and
    ``analysis_det/`` (``tools/analyze_quality.py``), from the results
    ``test_gt/<results_name>`` and ``test_det/<results_name>`` (every
    pose, with each score's field).

    ``summary.json``: per score (``heatmap``, ``oksnet``, ``rescorenet``,
    ``ccnet``, ``gt_oks``; a peer only when the results carry its score)
    the analysis's numbers plus ``gap_closed`` and
    ``gain_at_oks``; the run's ``profile``, ``schedule``, ``variant`` (the
    branch the converter added when fine-tuning; None from scratch) and
    ``base_checkpoint`` (``path``, ``sha256``; None from scratch);
    ``base_ap`` (heatmap-mean AP with GT boxes of the base model: the zoo
    model when fine-tuning, read off the quality-only run whose pose
    network is frozen) and ``median_gt_oks`` (of its val poses);
    ``train_split`` (:func:`train_split_quality` of the evaluated model,
    with ``val_heatmap_ap`` / ``val_median_gt_oks`` beside it); and
    ``quality_only``, the per-score summary of the quality-only row (None
    from scratch). ``summary_det.json``: the detector-box APs per score,
    and the quality-only row's under ``quality_only``.
    """
    summary, median_gt_oks, detector = _analyse_run(work_dir, ann_file,
                                                    results_name)
    summary.update(profile=state['profile'],
                   schedule=state.get('schedule', 'scratch'),
                   variant=state.get('variant'),
                   base_checkpoint=state.get('base_checkpoint'),
                   base_ap=summary['heatmap']['ap'],
                   median_gt_oks=median_gt_oks,
                   quality_only=None)
    if train_split is not None:
        summary['train_split'] = dict(
            train_split, val_heatmap_ap=summary['heatmap']['ap'],
            val_median_gt_oks=median_gt_oks)
    if quality_only_dir is not None:
        quality_only, qo_median, qo_detector = _analyse_run(
            quality_only_dir, ann_file, quality_only_results)
        # the frozen pose network's poses are the zoo model's own
        summary.update(base_ap=quality_only['heatmap']['ap'],
                       median_gt_oks=qo_median,
                       quality_only=quality_only)
        detector['quality_only'] = qo_detector
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
        if name not in summary:  # a peer the results do not carry
            continue
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
        'CCNet: per-keypoint OKS terms and labelled flags predicted by an '
        'MLP from the frozen model\'s pooled pose feature, trained after the '
        'model on its poses of the training split (`ccnet_log.json`).', '',
        '## COCO AP with detector boxes (bbox score x pose score, '
        'OKS-NMS; x100)', '',
        '| score | ' + ' | '.join(k.upper() for k in AP_NAMES) + ' |',
        '|---|---|---|---|---|---|---|'
    ]
    for name, label in SCORES[:-1]:
        if name not in detector:
            continue
        lines.append(f'| {label} | ' +
                     ' | '.join(f'{detector[name][k] * 100:.1f}'
                                for k in AP_NAMES) + ' |')
    lines += _quality_only_lines(summary, detector) + _train_split_lines(
        summary)
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


def _score_row(label: str, entry: dict, detector: dict) -> str:
    cells = [f"{entry[k] * 100:.1f}" for k in ('ap', 'ap75')]
    cells += [_fmt(entry['pearson'])]
    cells.append('n/a' if entry['gap_closed'] is None else
                 f"{entry['gap_closed'] * 100:.0f} %")
    cells.append(f"{detector['ap'] * 100:.1f}" if detector else '-')
    return f'| {label} | ' + ' | '.join(cells) + ' |'


def _quality_only_lines(summary: dict, detector: dict) -> List[str]:
    quality_only = summary.get('quality_only')
    if not quality_only:
        return []
    lines = [
        '', '## Quality-only row (pose network frozen: the zoo model\'s '
        'own poses; AP x100)', '',
        '| score | AP | AP75 | Pearson | gap closed | AP, detector boxes |',
        '|---|---|---|---|---|---|'
    ]
    for name, label in SCORES:
        if name in quality_only:
            lines.append(
                _score_row(label, quality_only[name],
                           detector['quality_only'].get(name)))
    return lines


def _train_split_lines(summary: dict) -> List[str]:
    split = summary.get('train_split')
    if not split:
        return []
    return [
        '', '## Training split vs val split (GT boxes, heatmap-mean)', '',
        f"Training split: AP {split['heatmap_ap'] * 100:.1f}, median GT OKS "
        f"{split['median_gt_oks']:.3f} ({split['num_poses']} poses); val "
        f"split: AP {split['val_heatmap_ap'] * 100:.1f}, median GT OKS "
        f"{split['val_median_gt_oks']:.3f}. The peer (and the branch) learn "
        'from the training-split poses.'
    ]


def summary_lines(result: dict) -> List[str]:
    """The run's numbers in a few lines, as the main job prints them."""
    summary, detector = result['summary'], result['detector_boxes']
    lines = [
        f"base model: heatmap-mean AP {summary['base_ap'] * 100:.1f}, "
        f"median GT OKS {summary['median_gt_oks']:.3f}"
    ]
    for name, label in SCORES:
        if name not in summary:
            continue
        s = summary[name]
        gap = s['gap_closed']
        lines.append(
            f'{label:<13} AP {s["ap"] * 100:5.1f}  Pearson '
            f'{_fmt(s["pearson"])}  Spearman {_fmt(s["spearman"])}  gap '
            f'closed {"n/a" if gap is None else f"{gap * 100:.0f} %"}' +
            (f'  AP (detector boxes) {detector[name]["ap"] * 100:.1f}'
             if name in detector else ''))
    quality_only = summary.get('quality_only')
    if quality_only:
        s, det = quality_only['oksnet'], detector['quality_only']['oksnet']
        lines.append(
            f'quality-only  AP {s["ap"] * 100:5.1f}  Pearson '
            f'{_fmt(s["pearson"])}  (frozen pose network: heatmap-mean AP '
            f'{quality_only["heatmap"]["ap"] * 100:.1f})  AP (detector '
            f'boxes) {det["ap"] * 100:.1f}')
    split = summary.get('train_split')
    if split:
        lines.append(f"training split: heatmap-mean AP "
                     f"{split['heatmap_ap'] * 100:.1f}, median GT OKS "
                     f"{split['median_gt_oks']:.3f}")
    return lines


def _fmt(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.3f}'
