# Copyright (c) oksnet-mmpose contributors.
"""The table over seeds: every score's mean +- std, the peers (RescoreNet,
CCNet) beside OKS-net with their differences."""
from oksnet_mmpose.analysis.keypoint_eval import AP_NAMES
from oksnet_mmpose.benchmark.seeds import seeds_table

NAMES = ('heatmap', 'oksnet', 'rescorenet', 'ccnet', 'gt_oks')


def _run(offset, peers=('rescorenet', 'ccnet')):
    """A main-job result whose every number is its score's index / 10 plus
    ``offset``."""
    names = [n for n in NAMES if n in ('heatmap', 'oksnet', 'gt_oks') + peers]
    summary = {
        name: dict({k: NAMES.index(name) / 10 + offset
                    for k in ('pearson', 'spearman', 'ece') + AP_NAMES},
                   gap_closed=NAMES.index(name) / 10)
        for name in names
    }
    summary.update(base_ap=0.5, median_gt_oks=0.7, quality_only=None)
    detector = {n: summary[n] for n in names if n != 'gt_oks'}
    return dict(summary=summary, detector_boxes=detector)


def _cells(table, label):
    row = next(line for line in table.splitlines()
               if line.startswith(f'| {label} |'))
    return [c.strip() for c in row.strip('|').split('|')][1:]


def test_the_table_has_a_column_per_peer_and_their_differences():
    table = seeds_table([_run(0.), _run(0.02)])
    header = _cells(table, 'number')
    assert header == [
        'heatmap-mean', 'OKS-net', 'RescoreNet', 'CCNet', 'GT OKS',
        'OKS-net - heatmap', 'RescoreNet - heatmap', 'CCNet - heatmap',
        'OKS-net - RescoreNet', 'OKS-net - CCNet'
    ]
    assert table.splitlines()[1] == '|---|' + '---|' * len(header)
    # AP: heatmap 0.0, OKS-net 0.1, RescoreNet 0.2, CCNet 0.3, GT 0.4 (+0 /
    # +0.02 over the two seeds: std 0.014)
    assert _cells(table, 'ap (GT boxes)') == [
        '0.010 ± 0.014', '0.110 ± 0.014', '0.210 ± 0.014', '0.310 ± 0.014',
        '0.410 ± 0.014', '0.100 ± 0.000', '0.200 ± 0.000', '0.300 ± 0.000',
        '-0.100 ± 0.000', '-0.200 ± 0.000'
    ]
    assert _cells(table, 'ap (detector boxes)')[3:5] == ['0.310 ± 0.014',
                                                          '-']
    assert _cells(table, 'share of AP gap closed') == [
        '-', '0.100 ± 0.000', '0.200 ± 0.000', '0.300 ± 0.000'
    ] + ['-'] * 6
    for line in table.splitlines():
        assert line.count('|') == len(header) + 2, line


def test_a_run_made_before_ccnet_leaves_its_cells_empty():
    table = seeds_table([_run(0., peers=('rescorenet', ))])
    cells = _cells(table, 'pearson (GT boxes)')
    assert cells[2] == '0.200 ± 0.000' and cells[3] == 'n/a'
    assert cells[-1] == 'n/a'  # OKS-net - CCNet
