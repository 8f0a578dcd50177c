# Copyright (c) oksnet-mmpose contributors.
import os.path as osp
import tempfile
from collections import OrderedDict, defaultdict
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmengine.fileio import dump
from mmengine.logging import MMLogger
from mmpose.evaluation.functional import oks_nms, soft_oks_nms
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS
from scipy.stats import pearsonr, spearmanr
from xtcocotools.coco import COCO

from oksnet_mmpose.datasets.annotation_check import check_finite_values
from oksnet_mmpose.evaluation.functional import compute_oks
from oksnet_mmpose.utils import atomic_path, check_output_file

# pose score names in the results JSON, the report and summary.json
SCORE_NAMES = ('heatmap', 'oksnet', 'gt_oks')


@METRICS.register_module()
class QualityCocoMetric(CocoMetric):
    """COCO keypoint AP with each pose scored by its predicted OKS
    (``pred_instances.pose_quality`` from :class:`OKSNetHead`), as in the
    OKS-net paper, plus the stock heatmap-mean AP in the same run.

    Arguments are those of MMPose's :class:`CocoMetric`. Per pose:

    - ``oksnet`` score = bbox score x ``pose_quality`` (the bbox score is 1
      with GT boxes): reported under the stock keys (``coco/AP``, ...);
    - ``heatmap`` score = the stock ``score_mode`` (``'bbox_keypoint'``:
      bbox score x mean keypoint score above ``keypoint_score_thr``):
      reported under ``coco-heatmap/...``;
    - with GT boxes (each pose is the prediction for one GT instance), the
      pose's GT OKS with its own instance: ``coco-gtoks/AP`` (the upper
      bound of rescoring, paper Tab. XIV) and the Pearson / Spearman
      correlation of each score with GT OKS (``quality/pearson_oksnet``,
      ``quality/pearson_heatmap``, ``quality/spearman_*``; paper Tab. I),
      over the poses whose GT has at least one labelled keypoint.

    Each scoring then goes through the configured ``nms_mode`` and
    xtcocotools' COCOeval. The results JSON (``outfile_prefix``) holds the
    OKS-net-scored poses kept by NMS, each with ``score`` and the extra
    ``heatmap_score``, ``oksnet_score``, ``area`` (the one OKS-NMS uses),
    ``id`` (the data sample's: GT annotation id or detection index) and,
    with GT boxes, ``gt_oks``, so later analysis
    (``tools/analyze_quality.py``) needs no re-run; with ``nms_mode='none'``
    it holds every pose, for the analysis's rescoring comparison.

    Bad input is refused with a ``ValueError`` before any number is made:
    at construction (before inference) an ``outfile_prefix`` that cannot be
    written and a non-finite ``keypoints`` / ``area`` / ``bbox`` in the
    ``ann_file``; in :meth:`process` a non-finite bbox score or box (the
    detections of the test dataloader's ``bbox_file``), ``pose_quality`` or
    predicted keypoint, each named by image and entry.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.pred_converter is not None or self.gt_converter is not None:
            # the keypoint-layout converters change what a pose's GT OKS
            # and scores refer to; not supported rather than half-applied
            raise ValueError(f'{type(self).__name__} does not support '
                             'pred_converter / gt_converter')
        if self.outfile_prefix is not None:
            check_output_file(f'{self.outfile_prefix}.keypoints.json',
                              f'{type(self).__name__}: outfile_prefix')
        if self.coco is not None:
            for ann in self.coco.dataset.get('annotations', []):
                check_finite_values(
                    f'{type(self).__name__}: ann_file {self.ann_file}, '
                    f'annotation {ann.get("id")} of image '
                    f'{ann.get("image_id")}',
                    keypoints=ann.get('keypoints'),
                    area=ann.get('area'),
                    bbox=ann.get('bbox'))

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Collect predictions as :class:`CocoMetric` does, plus each pose's
        ``pose_quality`` and, with GT boxes, its GT annotation id."""
        super().process(data_batch, data_samples)
        for (pred, _), data_sample in zip(
                self.results[-len(data_samples):], data_samples):
            pred_instances = data_sample['pred_instances']
            if 'pose_quality' not in pred_instances:
                # imported here: the models import this package's OKS
                from ...models import oksnet_head_types
                raise KeyError(
                    f'{type(self).__name__} needs `pose_quality` in the '
                    'predictions (`pred_instances`), which the OKS-net heads '
                    f'({", ".join(oksnet_head_types())}) add; the model '
                    'outputs none. Use CocoMetric for a model without '
                    'OKS-net.')
            quality = np.asarray(pred_instances['pose_quality'],
                                 dtype=np.float64).reshape(-1)
            if len(quality) != len(pred['keypoints']):
                raise ValueError(
                    f'{type(self).__name__}: {len(quality)} pose_quality '
                    f'values for {len(pred["keypoints"])} poses in image '
                    f'{pred["img_id"]}')
            # GT-box samples carry their annotation (detector boxes do not)
            raw_ann = data_sample.get('raw_ann_info')
            gt_box = isinstance(raw_ann, dict) and 'id' in raw_ann
            self._check_finite(pred, quality, data_sample, gt_box)
            pred['pose_quality'] = quality
            if gt_box:
                pred['gt_ann_id'] = raw_ann['id']

    def _check_finite(self, pred: dict, quality: np.ndarray,
                      data_sample: dict, gt_box: bool) -> None:
        """Refuse a non-finite person box or box score (a bad entry of the
        detections file) and non-finite model outputs, naming the image
        and the entry, before they reach a score or the results JSON."""
        where = (f'{type(self).__name__}: image {pred["img_id"]} '
                 f'({data_sample.get("img_path", "?")}), '
                 f'{"annotation" if gt_box else "detection"} {pred["id"]}')
        check_finite_values(
            where,
            '' if gt_box else '; detection N is the N-th person entry '
            '(from 0) of the detections file '
            '(test_dataloader.dataset.bbox_file)',
            bbox_scores=pred.get('bbox_scores'),
            bbox=pred.get('bbox'))
        check_finite_values(
            where,
            ' (a model output: non-finite input or weights?)',
            pose_quality=quality,
            keypoints=pred['keypoints'])

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Score, NMS and evaluate the poses three ways (see the class
        docstring); return the OKS-net keys plain and the others with their
        own prefix (``coco-heatmap/AP``, ``quality/pearson_oksnet``...)."""
        logger: MMLogger = MMLogger.get_current_instance()
        preds, gts = zip(*results)

        tmp_dir = tempfile.TemporaryDirectory()
        outfile_prefix = self.outfile_prefix or osp.join(
            tmp_dir.name, 'results')
        if self.coco is None:
            logger.info('Converting ground truth to coco format...')
            self.coco = COCO(
                self.gt_to_coco_json(
                    gt_dicts=gts, outfile_prefix=outfile_prefix))

        instances = self._collect_instances(preds)
        use_gt_oks = all('gt_ann_id' in inst for img in instances.values()
                         for inst in img)
        for img_instances in instances.values():
            for inst in img_instances:
                inst['heatmap_score'] = self._heatmap_score(inst)
                inst['oksnet_score'] = inst['bbox_score'] * inst[
                    'pose_quality']
                if use_gt_oks:
                    inst['gt_oks'], inst['gt_labelled'] = self._gt_oks(inst)

        main_json = self._score_and_nms(instances, 'oksnet_score')
        self.results2json(main_json, outfile_prefix)
        if self.format_only:
            logger.info('results are saved in '
                        f'{osp.dirname(outfile_prefix)}')
            tmp_dir.cleanup()
            return {}

        logger.info(f'Evaluating {self.__class__.__name__} (pose score: '
                    'OKS-net)...')
        eval_results = OrderedDict(
            self._do_python_keypoint_eval(outfile_prefix))
        prefix = self.prefix or 'coco'
        extra = [('heatmap_score', f'{prefix}-heatmap')]
        if use_gt_oks:
            extra.append(('gt_oks', f'{prefix}-gtoks'))
        for score_key, name in extra:
            logger.info(f'Evaluating {name} (pose score: {score_key})...')
            variant_prefix = osp.join(tmp_dir.name, score_key)
            self.results2json(
                self._score_and_nms(instances, score_key), variant_prefix)
            for k, v in self._do_python_keypoint_eval(variant_prefix):
                eval_results[f'{name}/{k}'] = v

        if use_gt_oks:
            eval_results.update(self._correlations(instances))
        tmp_dir.cleanup()
        return eval_results

    def evaluate(self, size: int) -> dict:
        """As :meth:`BaseMetric.evaluate`, but keys that already carry their
        own prefix (``coco-heatmap/AP``) are not prefixed again."""
        metrics = super().evaluate(size)
        head = f'{self.prefix}/' if self.prefix else ''
        return {(k[len(head):] if head and k.startswith(head)
                 and '/' in k[len(head):] else k): v
                for k, v in metrics.items()}

    def results2json(self, keypoints: Dict[int, list],
                     outfile_prefix: str) -> str:
        """Dump the poses as :meth:`CocoMetric.results2json` does, each with
        ``heatmap_score``, ``oksnet_score`` (and ``gt_oks`` when known) and
        its sample ``id`` (the GT annotation id with GT boxes, the detection
        index with detector boxes), so per-sample side data (e.g. recorded
        features) can be matched to the poses."""
        results = []
        for img_kpts in keypoints.values():
            for inst in img_kpts:
                sample_id = inst['id']
                res = {
                    'id': sample_id.item() if isinstance(
                        sample_id, np.generic) else sample_id,
                    'image_id': inst['img_id'],
                    'category_id': inst['category_id'],
                    'keypoints': inst['keypoints'].reshape(-1).tolist(),
                    'score': float(inst['score']),
                    'heatmap_score': float(inst['heatmap_score']),
                    'oksnet_score': float(inst['oksnet_score']),
                    # the box's own score, for post-hoc rescorers
                    'bbox_score': float(inst['bbox_score']),
                }
                if 'gt_oks' in inst:
                    res['gt_oks'] = float(inst['gt_oks'])
                if 'bbox' in inst:
                    res['bbox'] = np.asarray(inst['bbox']).tolist()
                # the area OKS-NMS used, so an analysis can redo the NMS
                res['area'] = float(inst['area'])
                results.append(res)
        res_file = f'{outfile_prefix}.keypoints.json'
        with atomic_path(res_file) as tmp_file:
            dump(results, tmp_file, sort_keys=True, indent=4)
        return res_file

    def _collect_instances(self, preds: Sequence[dict]) -> Dict[int, list]:
        """One dict per pose, grouped by image, duplicates removed (as in
        :meth:`CocoMetric.compute_metrics`); ``keypoints`` is (K, 3) with
        the keypoint scores as third column."""
        instances = defaultdict(list)
        for pred in preds:
            for idx, keypoints in enumerate(pred['keypoints']):
                keypoint_scores = pred['keypoint_scores'][idx]
                inst = {
                    'id': pred['id'],
                    'img_id': pred['img_id'],
                    'category_id': pred['category_id'],
                    'keypoints': np.concatenate(
                        [keypoints, keypoint_scores[:, None]], axis=-1),
                    'keypoint_scores': keypoint_scores,
                    'bbox_score': float(pred['bbox_scores'][idx]),
                    'pose_quality': float(pred['pose_quality'][idx]),
                }
                if 'gt_ann_id' in pred:
                    inst['gt_ann_id'] = pred['gt_ann_id']
                if 'bbox' in pred:
                    inst['bbox'] = pred['bbox'][idx]
                if 'areas' in pred:
                    inst['area'] = pred['areas'][idx]
                else:
                    extent = keypoints.max(axis=0) - keypoints.min(axis=0)
                    inst['area'] = extent[0] * extent[1]
                instances[pred['img_id']].append(inst)
        return self._sort_and_unique_bboxes(instances, key='id')

    def _heatmap_score(self, inst: dict) -> float:
        """The stock score of :class:`CocoMetric` for ``self.score_mode``."""
        scores = inst['keypoint_scores']
        if self.score_mode == 'bbox':
            return inst['bbox_score']
        if self.score_mode == 'keypoint':
            return float(np.mean(scores))
        if self.score_mode == 'bbox_rle':
            return float(inst['bbox_score'] + np.mean(scores) +
                         np.max(scores))
        valid = scores[scores > self.keypoint_score_thr]
        mean_score = float(valid.mean()) if len(valid) else 0.
        return inst['bbox_score'] * mean_score

    def _gt_oks(self, inst: dict) -> tuple:
        """OKS of a pose with its own GT instance, and whether that GT has
        labelled keypoints (if not, OKS is 0 and COCO's evaluation ignores
        the GT)."""
        ann = self.coco.anns.get(inst['gt_ann_id'])
        if ann is None:
            raise KeyError(f'{type(self).__name__}: annotation id '
                           f'{inst["gt_ann_id"]} is not in the ann_file')
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        # as xtcocotools' computeOks: without use_area, 0.53 x bbox area
        area = float(ann['area']) if self.use_area else \
            ann['bbox'][2] * ann['bbox'][3] * 0.53
        oks = compute_oks(
            torch.from_numpy(inst['keypoints'][None, :, :2].astype(
                np.float64)),
            torch.from_numpy(gt[None, :, :2]),
            torch.from_numpy(gt[None, :, 2]),
            torch.tensor([area], dtype=torch.float64),
            torch.as_tensor(self.dataset_meta['sigmas'], dtype=torch.float64))
        return float(oks[0]), bool((gt[:, 2] > 0).any())

    def _score_and_nms(self, instances: Dict[int, list],
                       score_key: str) -> Dict[int, list]:
        """Copies of the poses scored by ``score_key``, after the
        configured (soft-)OKS-NMS."""
        kept = {}
        for img_id, img_instances in instances.items():
            scored = [dict(inst, score=inst[score_key])
                      for inst in img_instances]
            if self.nms_mode == 'none':
                kept[img_id] = scored
                continue
            nms = oks_nms if self.nms_mode == 'oks_nms' else soft_oks_nms
            keep = nms(
                scored, self.nms_thr, sigmas=self.dataset_meta['sigmas'])
            kept[img_id] = [scored[k] for k in keep]
        return kept

    @staticmethod
    def _correlations(instances: Dict[int, list]) -> Dict[str, float]:
        """Pearson and Spearman correlation of each score with GT OKS over
        the poses whose GT has labelled keypoints (so GT OKS is defined)."""
        rows: List[tuple] = [(inst['heatmap_score'], inst['oksnet_score'],
                              inst['gt_oks'])
                             for img in instances.values() for inst in img
                             if inst['gt_labelled']]
        table = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        metrics = {}
        for column, name in enumerate(('heatmap', 'oksnet')):
            score, gt_oks = table[:, column], table[:, 2]
            defined = len(table) > 1 and np.ptp(score) > 0 and np.ptp(
                gt_oks) > 0
            if not defined:
                MMLogger.get_current_instance().warning(
                    f'QualityCocoMetric: correlation of the {name} score '
                    f'with GT OKS is undefined on {len(table)} poses '
                    '(constant input); reported as NaN')
            metrics[f'quality/pearson_{name}'] = float(
                pearsonr(score, gt_oks)[0]) if defined else float('nan')
            metrics[f'quality/spearman_{name}'] = float(
                spearmanr(score, gt_oks)[0]) if defined else float('nan')
        return metrics
