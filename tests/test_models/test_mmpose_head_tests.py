# Copyright (c) oksnet-mmpose contributors.
"""MMPose 1.3.2's own head tests (vendored in mmpose_head_tests/), run with
each OKS-net head in place of the stock head it extends: the drop-in
contract. The only adaptation is the one every OKS-net training pipeline
makes: the dummy batches carry what PackOKSPoseInputs packs. A case that a
documented difference makes inapplicable (docs/heads.md lists them) must fail
with exactly that difference's error."""
import importlib
import inspect
from unittest import TestCase

import pytest

from .oksnet_head_cases import FAMILIES, get_oks_packed_inputs

# documented difference: (error, message pattern, why)
NO_DECODER = (ValueError, r'model\.head\.decoder',
              'builds the head without `decoder`, then calls loss(): the '
              "OKS-net target is the OKS of the pose the head's codec "
              'decodes, so training needs `decoder`')
STRICT_LOAD = (RuntimeError, r'Missing key\(s\).*"oks_net\.',
               'loads a stock state dict with strict=True: an OKS-net head '
               'also has the oks_net.* parameters; stock checkpoints load '
               'with strict=False (as MMEngine loads them) with only those '
               'missing')
INAPPLICABLE = {
    ('heatmap', 'test_loss'): NO_DECODER,
    ('cpm', 'test_loss'): NO_DECODER,
    ('mspn', 'test_loss'): NO_DECODER,
    ('vipnas', 'test_loss'): NO_DECODER,
    ('heatmap', 'test_state_dict_compatible'): STRICT_LOAD,
    ('vipnas', 'test_state_dict_compatible'): STRICT_LOAD,
}


def _test_case_class(family: str) -> type:
    module = importlib.import_module(
        f'tests.test_models.mmpose_head_tests.mmpose_test_{family}_head')
    return next(value for value in vars(module).values()
                if inspect.isclass(value) and issubclass(value, TestCase)
                and value is not TestCase)


CASES = [(family, name) for family in FAMILIES
         for name in sorted(vars(_test_case_class(family)))
         if name.startswith('test_')]


@pytest.mark.parametrize('family, method', CASES)
def test_mmpose_head_test_passes_with_oksnet_head(family, method,
                                                  monkeypatch):
    case_class = _test_case_class(family)
    module = inspect.getmodule(case_class)
    stock, oksnet = FAMILIES[family]
    monkeypatch.setattr(module, stock.__name__, oksnet)
    monkeypatch.setattr(module, 'get_packed_inputs', get_oks_packed_inputs)
    if (family, method) in INAPPLICABLE:
        error, message, _ = INAPPLICABLE[(family, method)]
        with pytest.raises(error, match=message):
            case_class(method).debug()
    else:
        case_class(method).debug()
