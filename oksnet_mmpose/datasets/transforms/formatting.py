# Copyright (c) oksnet-mmpose contributors.
import logging

import numpy as np
from mmengine.logging import print_log
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.registry import TRANSFORMS

from ..annotation_check import check_finite_values


@TRANSFORMS.register_module()
class PackOKSPoseInputs(PackPoseInputs):
    """:class:`PackPoseInputs` that also packs what the online OKS target of
    :class:`OKSNetHead` needs, in the model input frame:

    - ``gt_instances.transformed_keypoints``: the GT keypoints after the
      affine transform (as ``PackPoseInputs(pack_transformed=True)``);
    - ``gt_instances.transformed_areas``: the annotation ``area`` (COCO's
      s^2, which ``PackPoseInputs`` drops) times the affine scale squared,
      ``(input_size / input_scale)`` along x times along y.

    Use it in place of ``PackPoseInputs`` at the end of the train pipeline,
    after ``TopdownAffine``. Arguments are those of ``PackPoseInputs``.

    Refused, before any loss sees the sample (``ValueError`` naming the
    annotation id, the image id and path): a NaN / Inf / null in the
    annotation's ``keypoints`` (coordinates or visibility), ``bbox`` or
    ``area``, and a crop of non-positive or non-finite scale.

    Fallback (documented): an instance whose ``area`` is missing or not > 0
    gets MMPose's own fallback for a missing area, 0.53 x its bbox area (the
    COCO mean ratio of mask to box area), with a warning.
    """

    def transform(self, results: dict) -> dict:
        for key in ('transformed_keypoints', 'input_size', 'input_scale'):
            if key not in results:
                raise KeyError(f'PackOKSPoseInputs needs `{key}` in the '
                               'results: put it after TopdownAffine')
        where = (f'PackOKSPoseInputs: annotation {results.get("id", "?")} '
                 f'of image {results.get("img_id", "?")} '
                 f'({results.get("img_path", "?")})')
        hint = ('; fix or remove it in the annotation file '
                '(train_dataloader.dataset.ann_file)')
        check_finite_values(
            where,
            hint,
            keypoints=results.get('keypoints'),
            keypoints_visible=results.get('keypoints_visible'),
            bbox=results.get('bbox'),
            area=results.get('area'))
        scale = np.asarray(results['input_scale'], dtype=np.float64)
        if not (np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError(f'{where}: its crop has scale {scale.tolist()} '
                             f'(a box of zero size?){hint}')
        # NaN only when the results have no `area` (refused above otherwise)
        area = np.asarray(results.get('area', np.nan),
                          dtype=np.float32).reshape(-1)
        bad = ~(area > 0)
        if bad.any():
            bbox = np.asarray(results['bbox'], dtype=np.float32).reshape(-1, 4)
            box_area = (bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1])
            fallback = np.clip(box_area * 0.53, 1.0, None)
            area = np.where(bad, np.broadcast_to(fallback, area.shape), area)
            print_log(
                'PackOKSPoseInputs: annotation '
                f'{results.get("id", "?")} of image '
                f'{results.get("img_path", "?")} has no positive `area`; '
                f'using 0.53 x bbox area = {area[bad].tolist()}',
                logger='current',
                level=logging.WARNING)
        input_w, input_h = results['input_size']
        scale_w, scale_h = np.asarray(results['input_scale']).reshape(-1)[:2]
        results['transformed_areas'] = area * (input_w / scale_w) * (
            input_h / scale_h)

        packed = super().transform(results)
        gt_instances = packed['data_samples'].gt_instances
        gt_instances.transformed_keypoints = results['transformed_keypoints']
        gt_instances.transformed_areas = results['transformed_areas']
        return packed
