# Copyright (c) oksnet-mmpose contributors.
# Not imported by ``oksnet_mmpose`` itself: the main job is a tool, not a
# registry module.
