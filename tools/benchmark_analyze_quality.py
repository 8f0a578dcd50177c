# Copyright (c) oksnet-mmpose contributors.
"""How long does tools/analyze_quality.py take on N poses? (A benchmark
script, not a test.)

Builds a COCO annotation file by repeating the images of ANN_FILE (default:
the sample val2017 annotations in tests/data/coco) and a results file with
N poses (noisy copies of the GT instances, several per instance, random
scores), then times ``analyze_quality`` on them, writing the full output.
"""
import argparse
import json
import os.path as osp
import tempfile
import time

import numpy as np

from oksnet_mmpose.analysis import analyze_quality

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def build_inputs(ann_file: str, num_poses: int, poses_per_gt: int,
                 out_dir: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    with open(ann_file) as f:
        data = json.load(f)
    labelled = [a for a in data['annotations'] if a['num_keypoints'] > 0]
    copies = int(np.ceil(num_poses / (poses_per_gt * len(labelled))))
    images, anns, poses = [], [], []
    for copy in range(copies):
        offset = (copy + 1) * 10**7
        images += [dict(img, id=img['id'] + offset) for img in data['images']]
        for ann in data['annotations']:
            anns.append(dict(ann, id=len(anns) + 1,
                             image_id=ann['image_id'] + offset))
            if ann['num_keypoints'] == 0:
                continue
            gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
            for _ in range(poses_per_gt):
                noise = rng.uniform(0.02, 0.4) * np.sqrt(ann['area'])
                pred = gt[:, :2] + rng.normal(0, noise, gt[:, :2].shape)
                poses.append(dict(
                    image_id=ann['image_id'] + offset, category_id=1,
                    keypoints=np.concatenate(
                        [pred, np.ones((len(gt), 1))], 1).ravel().tolist(),
                    score=0., heatmap_score=float(rng.uniform()),
                    oksnet_score=float(rng.uniform())))
    poses = poses[:num_poses]
    ann_out = osp.join(out_dir, 'annotations.json')
    res_out = osp.join(out_dir, 'results.keypoints.json')
    with open(ann_out, 'w') as f:
        json.dump(dict(data, images=images, annotations=anns), f)
    with open(res_out, 'w') as f:
        json.dump(poses, f)
    return ann_out, res_out, len(images)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ann-file', default=osp.join(
        REPO_ROOT, 'tests', 'data', 'coco', 'annotations',
        'person_keypoints_val2017_sample.json'))
    parser.add_argument('--num-poses', type=int, default=10000)
    parser.add_argument('--poses-per-gt', type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ann_file, results, num_images = build_inputs(
            args.ann_file, args.num_poses, args.poses_per_gt, tmp)
        start = time.perf_counter()
        analyze_quality(ann_file, results, osp.join(tmp, 'analysis'))
        seconds = time.perf_counter() - start
    print(f'{args.num_poses} poses on {num_images} images '
          f'({args.poses_per_gt} per GT instance): analyze_quality with all '
          f'outputs in {seconds:.1f} s')


if __name__ == '__main__':
    main()
