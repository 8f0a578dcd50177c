# Copyright (c) oksnet-mmpose contributors.
"""xtcocotools' COCOeval for many scorings of the same poses.

The quality analysis evaluates one set of poses a dozen times: scored three
ways, restricted to four occlusion benchmarks, after three NMS variants.
Only the scores, the kept subset and the ignored GT instances change, never
the keypoints, so the (pose, GT) OKS matrix of each image is computed once by
xtcocotools' own :meth:`COCOeval.computeOks` and reused. Matching,
accumulation and the AP/AR numbers are COCOeval's, unchanged.
"""
import contextlib
import copy
import io
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

# names of COCOeval.stats[:6] for keypoints
AP_NAMES = ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar')
# the OKS thresholds the paper reports AP at (Tab. XII / XIII)
OKS_THRESHOLDS = (0.50, 0.60, 0.70, 0.75, 0.85, 0.95)


class _CachedOKSEval(COCOeval):
    """COCOeval whose per-image OKS matrices come from a shared cache, and
    which can ignore chosen GT instances (as Ronchi & Perona's analysis tool
    does with ``gtIgnoreIds`` for its benchmarks)."""

    def __init__(self, *args, oks_rows: dict, gt_ignore_ids: Iterable[int],
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.oks_rows = oks_rows
        self.gt_ignore_ids = set(gt_ignore_ids)

    def _prepare(self):
        super()._prepare()
        # COCOeval rewrites every GT's ``ignore`` in _prepare (crowd or no
        # labelled keypoint); the benchmark's ignores go on top of that.
        if self.gt_ignore_ids:
            for gts in self._gts.values():
                for gt in gts:
                    if gt['id'] in self.gt_ignore_ids:
                        gt['ignore'] = True

    def computeOks(self, imgId, catId):
        cached = self.oks_rows.get((imgId, catId))
        if cached is None:
            return super().computeOks(imgId, catId)
        gts, dts = self._gts[imgId, catId], self._dts[imgId, catId]
        if len(gts) == 0 or len(dts) == 0:
            return []
        # the detection order and cut of COCOeval.computeOks
        order = np.argsort([-d[self.score_key] for d in dts], kind='mergesort')
        order = order[:self.params.maxDets[-1]]
        return np.stack([cached[dts[i]['id']] for i in order])


class KeypointEvaluator:
    """Evaluate one set of poses under many scorings with xtcocotools.

    Args:
        coco (COCO): The GT annotations.
        poses (List[dict]): Poses in COCO results format (``image_id``,
            ``keypoints``, optional ``category_id``); other fields are kept.
        sigmas (Sequence[float]): The keypoint sigmas.
        use_area (bool): COCOeval's ``use_area``. Defaults to True.
    """

    def __init__(self,
                 coco: COCO,
                 poses: List[dict],
                 sigmas: Sequence[float],
                 use_area: bool = True):
        self.coco = coco
        self.sigmas = np.asarray(sigmas, dtype=np.float64)
        self.use_area = use_area
        # loadRes adds each pose's id (its index + 1), bbox and area once
        base = [dict(p, score=0.) for p in poses]
        with contextlib.redirect_stdout(io.StringIO()):
            self._all_dts = coco.loadRes(base)
        self.dt_anns = [self._all_dts.anns[i + 1] for i in range(len(poses))]
        self.oks_rows: Dict[tuple, Dict[int, np.ndarray]] = {}
        self.gt_ids: Dict[tuple, List[int]] = {}
        self._fill_oks_cache()

    def _new_eval(self, coco_dt: COCO, gt_ignore_ids=()) -> COCOeval:
        coco_eval = _CachedOKSEval(self.coco,
                                   coco_dt,
                                   'keypoints',
                                   self.sigmas,
                                   use_area=self.use_area,
                                   oks_rows=self.oks_rows,
                                   gt_ignore_ids=gt_ignore_ids)
        coco_eval.params.useSegm = None
        return coco_eval

    def _fill_oks_cache(self) -> None:
        """Every (pose, GT) OKS of every image, by COCOeval.computeOks with
        no cut on the number of poses."""
        coco_eval = self._new_eval(self._all_dts)
        coco_eval.params.maxDets = [max(1, len(self.dt_anns))]
        coco_eval.oks_rows = {}  # compute, do not read the cache
        with contextlib.redirect_stdout(io.StringIO()):
            coco_eval._prepare()
        for (img_id, cat_id), dts in coco_eval._dts.items():
            gts = coco_eval._gts[img_id, cat_id]
            self.gt_ids[img_id, cat_id] = [g['id'] for g in gts]
            if not gts:
                continue
            # all scores are 0 here, so computeOks keeps the given order
            matrix = coco_eval.computeOks(img_id, cat_id)
            self.oks_rows[img_id, cat_id] = {
                d['id']: row
                for d, row in zip(dts, matrix)
            }

    def pose_gt_oks(self) -> np.ndarray:
        """Each pose's best OKS with a GT instance of its image that COCO
        evaluates (not crowd, at least one labelled keypoint); 0 where the
        image has none."""
        gt_oks = np.zeros(len(self.dt_anns))
        for (img_id, cat_id), rows in self.oks_rows.items():
            valid = np.asarray([
                not ann.get('iscrowd', 0) and
                np.count_nonzero(np.asarray(ann['keypoints'])[2::3] > 0) > 0
                for ann in self.coco.loadAnns(self.gt_ids[img_id, cat_id])
            ])
            if not valid.any():
                continue
            for dt_id, row in rows.items():
                gt_oks[dt_id - 1] = row[valid].max()
        return gt_oks

    def evaluate(self,
                 scores: np.ndarray,
                 keep: Optional[np.ndarray] = None,
                 gt_ignore_ids: Iterable[int] = (),
                 area_all_only: bool = False) -> COCOeval:
        """Run COCOeval (evaluate + accumulate + summarize) on the poses
        scored by ``scores``.

        Args:
            scores (np.ndarray): One score per pose.
            keep (np.ndarray, optional): Indices of the poses to evaluate
                (e.g. those kept by NMS). Defaults to all.
            gt_ignore_ids (Iterable[int]): GT annotation ids to ignore, with
                the poses matched to them. Defaults to none.
            area_all_only (bool): Evaluate only the ``all`` area range (the
                medium / large APs are then not computed). Defaults to False.

        Returns:
            COCOeval: The accumulated and summarized evaluation.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(self.dt_anns), ):
            raise ValueError(f'{len(scores)} scores for '
                             f'{len(self.dt_anns)} poses')
        if not np.isfinite(scores).all():
            raise ValueError('non-finite pose scores')
        index = range(len(scores)) if keep is None else keep
        anns = []
        for i in index:
            ann = copy.copy(self.dt_anns[i])
            ann['score'] = float(scores[i])
            anns.append(ann)
        coco_dt = COCO()
        coco_dt.dataset = dict(images=list(self._all_dts.dataset['images']),
                               categories=copy.deepcopy(
                                   self._all_dts.dataset['categories']),
                               annotations=anns)
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt.createIndex()
            coco_eval = self._new_eval(coco_dt, gt_ignore_ids)
            if area_all_only:
                coco_eval.params.areaRng = coco_eval.params.areaRng[:1]
                coco_eval.params.areaRngLbl = coco_eval.params.areaRngLbl[:1]
            coco_eval.evaluate()
            coco_eval.accumulate()
            if not area_all_only:
                coco_eval.summarize()
        return coco_eval


def ap_names(coco_eval: COCOeval) -> Dict[str, float]:
    """``ap``, ``ap50``, ``ap75``, ``ap_m``, ``ap_l``, ``ar`` of a
    summarized keypoint COCOeval."""
    return {name: float(coco_eval.stats[i]) for i, name in enumerate(AP_NAMES)}


def ap_at_oks(coco_eval: COCOeval, threshold: float) -> Optional[float]:
    """AP at one OKS threshold (all areas), as ``COCOeval.summarize``
    averages it: the mean precision over the recall points, ignoring -1
    (no GT). None when no GT is evaluated."""
    thresholds = coco_eval.params.iouThrs
    t = np.where(np.isclose(thresholds, threshold))[0]
    if len(t) != 1:
        raise ValueError(f'OKS threshold {threshold} is not one of '
                         f'COCOeval.params.iouThrs {thresholds.tolist()}')
    # precision: [T, R, K, A, M]; area 'all' is index 0, maxDets the last
    precision = coco_eval.eval['precision'][t[0], :, :, 0, -1]
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else None


def pr_curve(coco_eval: COCOeval, threshold: float) -> np.ndarray:
    """The interpolated precision at COCOeval's 101 recall points for one
    OKS threshold (all areas); -1 where recall is not reached."""
    t = int(np.where(np.isclose(coco_eval.params.iouThrs, threshold))[0][0])
    return coco_eval.eval['precision'][t, :, 0, 0, -1].copy()
