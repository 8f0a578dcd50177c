# Copyright (c) oksnet-mmpose contributors.
"""The offline benchmark's machinery: the base model of our model zoo, the
main job (README command 1), its peers and its report.

Not imported by ``import oksnet_mmpose`` (which only registers the plugin);
the benchmark's tools import it.
"""
