# Copyright (c) oksnet-mmpose contributors.
"""MMPose 1.3.2's own head tests, vendored unmodified (Apache License 2.0,
see LICENSE here) from open-mmlab/mmpose at tag v1.3.2,
``tests/test_models/test_heads/test_heatmap_heads/test_<family>_head.py``,
renamed ``mmpose_test_<family>_head.py`` so that pytest does not collect
them on their own: ``tests/test_models/test_mmpose_head_tests.py`` runs them
with each OKS-net head in place of the stock head it extends."""
