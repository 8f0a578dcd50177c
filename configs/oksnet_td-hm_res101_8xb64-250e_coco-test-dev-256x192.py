# COCO test-dev2017 with the person detections the stock MMPose recipes
# use; results are written for the evaluation server (no local GT).
_base_ = ['./oksnet_td-hm_res101_8xb64-250e_coco-256x192.py']

test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',
        bbox_file='data/coco/person_detection_results/'
        'COCO_test-dev2017_detections_AP_H_609_person.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    ann_file='data/coco/annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/oksnet_td-hm_res101_8xb64-250e_coco-256x192/test-dev')
