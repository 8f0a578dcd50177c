# Copyright (c) oksnet-mmpose contributors.
"""The quality analysis of one ``mim test`` run: what
``tools/analyze_quality.py`` writes (``report.md``, ``summary.json``,
``details.json`` and the figures)."""
import contextlib
import io
import os
import os.path as osp
import time
import warnings
from typing import Dict, Optional, Sequence

import numpy as np

from ..utils import check_output_dir, dump_json_atomic, write_text_atomic
from .calibration import (expected_calibration_error, plot_reliability,
                          reliability_bins)
from .keypoint_eval import (OKS_THRESHOLDS, KeypointEvaluator, ap_at_oks,
                            ap_names)
from .occlusion import VISIBLE_BUCKETS, evaluate_occlusion, plot_occlusion_pr
from .quality_analysis import (OPTIONAL_SCORES, SCORE_FIELDS, correlations,
                               gap_closed, load_results, plot_scores)
from .rescoring import compare_rescoring
from .scoring_errors import plot_scoring_errors, scoring_errors
from .selection import plot_selection, selection_curve

SCORE_TITLES = {
    'heatmap': 'heatmap-mean',
    'oksnet': 'OKS-net',
    'rescorenet': 'RescoreNet (DEKR, post hoc)',
    'ccnet': 'CCNet (pose features, post hoc)',
    'gt_oks': 'GT OKS (upper bound)'
}
# everything analyze_quality writes; summary.json last, as the sign of a
# complete analysis
OUTPUT_FILES = ('report.md', 'details.json', 'scatter_score_vs_gt_oks.png',
                'histograms.png', 'reliability.png', 'occlusion_pr.png',
                'scoring_errors.png', 'selection.png', 'summary.json')


def default_sigmas(num_keypoints: int) -> np.ndarray:
    """COCO's keypoint sigmas (MMPose's dataset meta) for 17 keypoints."""
    if num_keypoints != 17:
        raise ValueError(
            f'the poses have {num_keypoints} keypoints; give the sigmas of '
            'their dataset (--dataset-meta, an MMPose dataset meta file)')
    return sigmas_from_meta('configs/_base_/datasets/coco.py')


def sigmas_from_meta(meta_file: str) -> np.ndarray:
    """The ``sigmas`` of an MMPose dataset meta file (a path, or one under
    MMPose's own ``configs/_base_/datasets``)."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    with warnings.catch_warnings():
        # MMPose warns when it resolves the file in its own package
        warnings.simplefilter('ignore', UserWarning)
        meta = parse_pose_metainfo(dict(from_file=meta_file))
    if meta.get('sigmas') is None or not len(meta['sigmas']):
        raise ValueError(f'{meta_file} has no keypoint sigmas')
    return np.asarray(meta['sigmas'], dtype=np.float64)


def analyze_quality(ann_file: str,
                    results_file: str,
                    out_dir: Optional[str] = None,
                    sigmas: Optional[Sequence[float]] = None,
                    nms_thr: float = 0.9) -> Dict[str, dict]:
    """Analyse how well each pose score measures pose quality.

    Args:
        ann_file (str): COCO keypoint annotations (the GT).
        results_file (str): Poses in COCO results format, each with
            ``heatmap_score`` and ``oksnet_score`` (the results JSON of
            :class:`QualityCocoMetric`). A ``gt_oks`` field (written with GT
            boxes: the OKS with the pose's own GT instance) is used when every
            pose has it; otherwise a pose's GT OKS is its best OKS with a GT
            instance of its image (xtcocotools' ``computeOks``).
        out_dir (str, optional): Where to write the report, JSONs and
            figures. Nothing is written when None.
        sigmas (Sequence[float], optional): Keypoint sigmas. Defaults to
            COCO's for 17 keypoints.
        nms_thr (float): OKS threshold of the NMS in the rescoring
            comparison. Defaults to 0.9 (CocoMetric's).

    Returns:
        dict: The content of ``summary.json``: per score name (``heatmap``,
        ``oksnet``, ``gt_oks``) ``pearson``, ``spearman``, ``ap``, ``ap50``,
        ``ap75``, ``ap_m``, ``ap_l``, ``ar``, ``ap_at_oks`` (AP per OKS
        threshold), ``ap_by_visible`` (per occlusion benchmark ``ap``,
        ``ap75``, ``num_gt``), ``ece`` and ``scoring_errors``.
    """
    from xtcocotools.coco import COCO
    start = time.time()
    if out_dir is not None:
        # before the analysis, not after it
        check_output_dir(out_dir, 'out_dir')
    poses = load_results(ann_file, results_file)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(ann_file)
    for index, pose in enumerate(poses):
        category = coco.cats.get(pose['category_id'])
        if category is None or 'keypoints' not in category:
            raise KeyError(f'{results_file}: pose {index} has category_id '
                           f'{pose["category_id"]}, which is no keypoint '
                           f'category of {ann_file}')
        expected = 3 * len(category['keypoints'])
        if len(pose['keypoints']) != expected:
            raise ValueError(
                f'{results_file}: pose {index} has {len(pose["keypoints"])} '
                f'keypoint values; category {category["name"]!r} of '
                f'{ann_file} has {expected // 3} keypoints ({expected} '
                'values)')
    num_keypoints = len(poses[0]['keypoints']) // 3
    sigmas = default_sigmas(num_keypoints) if sigmas is None else \
        np.asarray(sigmas, dtype=np.float64)
    if len(sigmas) != num_keypoints:
        raise ValueError(f'{len(sigmas)} sigmas for poses with '
                         f'{num_keypoints} keypoints ({results_file})')
    evaluator = KeypointEvaluator(coco, poses, sigmas)

    if all('gt_oks' in pose for pose in poses):
        gt_oks = np.asarray([p['gt_oks'] for p in poses], dtype=np.float64)
        gt_oks_source = 'results file (OKS with the own GT instance)'
    else:
        gt_oks = evaluator.pose_gt_oks()
        gt_oks_source = 'best OKS with a GT instance of the image'
    scores = {
        name: np.asarray([p[field] for p in poses], dtype=np.float64)
        for name, field in SCORE_FIELDS.items()
        if name != 'gt_oks' and (name not in OPTIONAL_SCORES
                                 or all(field in p for p in poses))
    }
    scores['gt_oks'] = gt_oks
    for name, values in scores.items():
        if not np.isfinite(values).all():
            bad = int(np.where(~np.isfinite(values))[0][0])
            raise ValueError(f'{results_file}: pose {bad} has a non-finite '
                             f'{SCORE_FIELDS[name]}')

    img_ids = sorted(coco.getImgIds())
    summary, reliability = {}, {}
    for name, values in scores.items():
        coco_eval = evaluator.evaluate(values)
        reliability[name] = reliability_bins(values, gt_oks)
        summary[name] = dict(**correlations(values, gt_oks),
                             **ap_names(coco_eval),
                             ap_at_oks={
                                 f'{t:.2f}': ap_at_oks(coco_eval, t)
                                 for t in OKS_THRESHOLDS
                             },
                             ece=expected_calibration_error(values, gt_oks))
    occlusion = evaluate_occlusion(evaluator, scores, img_ids)
    errors = scoring_errors(evaluator, scores, gt_oks)
    for name in scores:
        summary[name]['ap_by_visible'] = {
            bucket: {
                k: v
                for k, v in entry.items() if k != 'precision75'
            }
            for bucket, entry in occlusion[name].items()
        }
        summary[name]['scoring_errors'] = {
            k: v
            for k, v in errors[name].items() if not k.startswith('hist_')
        }
    details = dict(num_poses=len(poses),
                   num_images_with_poses=len({p['image_id']
                                              for p in poses}),
                   gt_oks_source=gt_oks_source,
                   gap_closed=gap_closed(summary),
                   gain_at_oks={
                       t:
                       _diff(summary['oksnet']['ap_at_oks'][t],
                             summary['heatmap']['ap_at_oks'][t])
                       for t in summary['oksnet']['ap_at_oks']
                   },
                   rescoring=compare_rescoring(evaluator, poses, scores,
                                               nms_thr),
                   selection={
                       name: selection_curve(values, gt_oks)
                       for name, values in scores.items()
                   },
                   reliability=reliability,
                   occlusion=occlusion,
                   scoring_errors=errors,
                   seconds=None)
    details['seconds'] = round(time.time() - start, 2)
    if out_dir is not None:
        write_analysis(out_dir, summary, details, poses, scores, gt_oks)
    return summary


def _diff(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else a - b


def write_analysis(out_dir: str, summary: dict, details: dict, poses: list,
                   scores: Dict[str, np.ndarray], gt_oks: np.ndarray) -> None:
    """Write the outputs; stale ones of an earlier run go first, and
    ``summary.json`` is written last, so a directory with a summary holds a
    complete analysis."""
    os.makedirs(out_dir, exist_ok=True)
    for name in OUTPUT_FILES:
        path = osp.join(out_dir, name)
        if osp.exists(path):
            os.remove(path)
    plot_scores(poses, out_dir, gt_oks=gt_oks)
    plot_reliability(details['reliability'],
                     osp.join(out_dir, 'reliability.png'))
    plot_occlusion_pr(details['occlusion'],
                      osp.join(out_dir, 'occlusion_pr.png'))
    plot_scoring_errors(details['scoring_errors'],
                        osp.join(out_dir, 'scoring_errors.png'))
    plot_selection(scores, gt_oks, osp.join(out_dir, 'selection.png'))
    dump_json_atomic(details, osp.join(out_dir, 'details.json'), indent=1)
    write_text_atomic(markdown_report(summary, details),
                      osp.join(out_dir, 'report.md'))
    dump_json_atomic(summary, osp.join(out_dir, 'summary.json'))


def _pct(value: Optional[float]) -> str:
    return 'n/a' if value is None or value < 0 else f'{value * 100:.1f}'


def _num(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.3f}'


def markdown_report(summary: dict, details: dict) -> str:
    """``report.md``: the paper's tables for this run."""
    names = list(summary)
    lines = [
        '# Pose quality analysis', '',
        f'{details["num_poses"]} poses on {details["num_images_with_poses"]}'
        f' images; GT OKS: {details["gt_oks_source"]}. Every AP is '
        "xtcocotools' COCOeval (x100).", '',
        '## Correlation with GT OKS and calibration (Tab. I)', '',
        '| score | Pearson | Spearman | ECE |', '|---|---|---|---|'
    ]
    for name in [n for n in names if n != 'gt_oks']:
        s = summary[name]
        lines.append(f'| {SCORE_TITLES[name]} | {_num(s["pearson"])} | '
                     f'{_num(s["spearman"])} | {_num(s["ece"])} |')
    lines += [
        '', 'ECE: expected calibration error of the score read as a '
        'predicted OKS (10 bins); see `reliability.png`.', '',
        '## COCO AP by pose score (Tab. XIV)', '',
        '| score | AP | AP50 | AP75 | APM | APL | AR |',
        '|---|---|---|---|---|---|---|'
    ]
    for name in names:
        s = summary[name]
        lines.append(f'| {SCORE_TITLES[name]} | ' + ' | '.join(
            _pct(s[k])
            for k in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar')) + ' |')
    if details['gap_closed'] is not None:
        lines += [
            '', f'OKS-net closes {details["gap_closed"] * 100:.1f} % of the '
            'AP gap between the heatmap-mean score and the GT-OKS bound.'
        ]
    thresholds = list(summary['oksnet']['ap_at_oks'])
    lines += [
        '', '## AP per OKS threshold (Tab. XII / XIII)', '',
        '| score | ' + ' | '.join(f'AP@{t}' for t in thresholds) + ' |',
        '|---|' + '---|' * len(thresholds)
    ]
    for name in names:
        lines.append(f'| {SCORE_TITLES[name]} | ' + ' | '.join(
            _pct(summary[name]['ap_at_oks'][t]) for t in thresholds) + ' |')
    lines.append('| gain OKS-net - heatmap | ' +
                 ' | '.join('n/a' if details['gain_at_oks'][t] is
                            None else f'{details["gain_at_oks"][t] * 100:+.1f}'
                            for t in thresholds) + ' |')
    buckets = [b for b, _, _ in VISIBLE_BUCKETS]
    lines += [
        '', '## Occlusion benchmarks: AP at OKS .75 by visible keypoints '
        '(Fig. 6 / 12)', '', '| score | ' + ' | '.join(
            f'{b} ({summary["oksnet"]["ap_by_visible"][b]["num_gt"]} GT)'
            for b in buckets) + ' |', '|---|' + '---|' * len(buckets)
    ]
    for name in names:
        lines.append(f'| {SCORE_TITLES[name]} | ' + ' | '.join(
            _pct(summary[name]['ap_by_visible'][b]['ap75'])
            for b in buckets) + ' |')
    lines += [
        '', 'PR curves: `occlusion_pr.png`. GT instances outside a '
        'benchmark are ignored, with the poses matched to them (Ronchi & '
        'Perona).', '', '## Scoring errors (Fig. 11)', '',
        '| score | high OKS, low score | low OKS, high score | histogram '
        'overlap | misranked GTs | GTs covered twice |',
        '|---|---|---|---|---|---|'
    ]
    for name in names:
        e = summary[name]['scoring_errors']
        lines.append(f'| {SCORE_TITLES[name]} | {e["high_oks_low_score"]} | '
                     f'{e["low_oks_high_score"]} | {e["overlap"]} | '
                     f'{e["misranked_gt"]} | {e["num_gt_covered_twice"]} |')
    lines += [
        '', 'High OKS, low score: GT OKS >= .75 and a score in the lowest '
        'quarter of that score; low OKS, high score: GT OKS < .5 and a '
        'score in the highest quarter. Overlap and misranked GTs: Ronchi & '
        "Perona's scoring-error analysis (`scoring_errors.png`).", '',
        '## Rescoring comparison (Tab. VI)', '',
        '| method | poses kept | AP | AP50 | AP75 | APM | APL |',
        '|---|---|---|---|---|---|---|'
    ]
    for row, r in details['rescoring'].items():
        lines.append(f'| {row} | {r["kept"]} | ' + ' | '.join(
            _pct(r[k]) for k in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l')) + ' |')
    if all(r['kept'] == details['num_poses']
           for r in details['rescoring'].values()):
        lines += [
            '', 'No NMS removed a pose: with GT boxes this is expected; '
            'with detector boxes the results were probably written after '
            "NMS (run `mim test` with `test_evaluator.nms_mode='none'` for "
            'this comparison).'
        ]
    lines += [
        '', '## Selecting poses by score (Fig. 1)', '',
        '| score | threshold | kept | kept with OKS >= .5 | good (.5) '
        'kept | kept with OKS >= .75 | good (.75) kept |',
        '|---|---|---|---|---|---|---|'
    ]
    for name in [n for n in names if n != 'gt_oks']:
        curve = details['selection'][name]
        for t in (0.3, 0.5, 0.7):
            i = int(round(t * 100))
            lines.append(
                f'| {SCORE_TITLES[name]} | {t:.1f} | {curve["kept"][i]} | '
                f'{_pct(curve["precision_0.5"][i])} | '
                f'{_pct(curve["recall_0.5"][i])} | '
                f'{_pct(curve["precision_0.75"][i])} | '
                f'{_pct(curve["recall_0.75"][i])} |')
    lines += [
        '', 'Full curves: `details.json` (`selection`) and '
        '`selection.png`.', '', f'Analysed in {details["seconds"]:.1f} s.'
    ]
    return '\n'.join(lines) + '\n'
