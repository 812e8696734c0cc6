"""The estimator's approximate-time synchroniser (ROS-free logic)."""

import pytest

from fip_ros.ros.sync import ApproximateTimeSync

MS = 1_000_000


def feed(sync, events):
    out = []
    for ch, t in events:
        sets, _ = sync.push(ch, t, (ch, t))
        out += sets
    return out


def test_matches_within_slop_and_uses_reference_stamp():
    sync = ApproximateTimeSync(3, slop_s=0.005, reference=2)
    out = feed(sync, [(0, 100 * MS), (1, 102 * MS), (2, 101 * MS)])
    assert len(out) == 1 and out[0].stamp_ns == 101 * MS
    assert [i[0] for i in out[0].items] == [0, 1, 2]


def test_unmatched_heads_dropped_and_counted():
    sync = ApproximateTimeSync(2, slop_s=0.005)
    out = feed(sync, [(0, 100 * MS), (0, 116 * MS), (1, 117 * MS)])
    assert [s.stamps_ns for s in out] == [[116 * MS, 117 * MS]]
    assert sync.stats.unmatched == 1


def test_out_of_order_and_late_dropped():
    sync = ApproximateTimeSync(2, slop_s=0.005)
    feed(sync, [(0, 100 * MS), (1, 100 * MS)])
    assert feed(sync, [(0, 100 * MS)]) == []          # repeated stamp on a channel
    assert sync.stats.out_of_order == 1
    feed(sync, [(0, 120 * MS)])
    assert feed(sync, [(1, 90 * MS)]) == []           # older than the last emitted set
    assert sync.stats.out_of_order + sync.stats.late == 2


def test_missing_channel_overflows_without_output():
    sync = ApproximateTimeSync(2, slop_s=0.005, queue_size=4)
    assert feed(sync, [(0, i * 16 * MS) for i in range(1, 20)]) == []
    assert sync.stats.overflow == 15


def test_backward_jump_resets():
    sync = ApproximateTimeSync(2, slop_s=0.005, backward_reset_s=0.5)
    feed(sync, [(0, 5000 * MS), (1, 5000 * MS)])
    _, jumped = sync.push(0, 10 * MS, None)
    assert jumped and sync.stats.time_resets == 1
    assert len(feed(sync, [(1, 10 * MS)])) == 1


def test_rejects_bad_configuration():
    with pytest.raises(ValueError):
        ApproximateTimeSync(2, slop_s=-1)
