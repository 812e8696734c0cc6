"""The estimator's approximate-time synchroniser (ROS-free logic)."""

import pytest

from fip_ros.runtime.sync import ApproximateTimeSync

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
    sync = ApproximateTimeSync(2, slop_s=0.005, window_s=0.05)  # 4 frames of 16 ms
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


def test_silent_channel_is_held_after_hold_after_then_rejoins():
    sync = ApproximateTimeSync(3, slop_s=0.005, window_s=0.16, reference=2, hold_after_s=0.05)
    assert len(feed(sync, [(c, 100 * MS) for c in range(3)])) == 1
    # Channel 2 (the reference) falls silent: nothing until it is 50 ms behind, then the queued frames
    # come out with its last item reused, stamped with the newest live stamp.
    frames = [[(0, t * MS), (1, t * MS)] for t in range(116, 200, 16)]
    out = [feed(sync, f) for f in frames]
    assert [len(o) for o in out] == [0, 0, 0, 4, 1, 1]  # at 164 ms channel 2 is 64 ms behind
    held = [s for o in out for s in o]
    assert all(s.held == [2] and s.items[2] == (2, 100 * MS) and s.stamps_ns[2] == 100 * MS for s in held)
    assert [s.stamp_ns for s in held] == [t * MS for t in range(116, 200, 16)]
    assert sync.stats.held == 6
    # It comes back after the others of its frame: that frame is still held and its message too late to
    # join, but it counts as alive again, so the next frame waits for it and is whole.
    back = feed(sync, [(0, 212 * MS), (1, 212 * MS), (2, 212 * MS)])
    assert [s.held for s in back] == [[2]] and sync.stats.late == 1
    back = feed(sync, [(0, 228 * MS), (1, 228 * MS), (2, 228 * MS)])
    assert len(back) == 1 and back[0].held == [] and back[0].stamp_ns == 228 * MS


def test_no_hold_for_a_channel_never_seen_or_when_disabled():
    for hold, first in ((0.05, []), (0.0, [(2, 100 * MS)])):
        sync = ApproximateTimeSync(3, slop_s=0.005, hold_after_s=hold)
        feed(sync, [(0, 100 * MS), (1, 100 * MS), *first])
        assert feed(sync, [(c, t * MS) for t in range(116, 400, 16) for c in (0, 1)]) == []


def test_a_lagging_consumer_does_not_hold_a_channel_that_still_arrives():
    # Channel 1's queue lost samples (best effort, consumer behind): its stamps run 100 ms ahead of
    # channel 0's, yet channel 0 keeps arriving once per round, so it is matched late or dropped, never held.
    sync = ApproximateTimeSync(2, slop_s=0.005, hold_after_s=0.05)
    feed(sync, [(0, 100 * MS), (1, 100 * MS)])
    rounds = [((1, (100 + 16 * (k + 6)) * MS), (0, (100 + 16 * k) * MS)) for k in range(1, 12)]
    out = feed(sync, [e for r in rounds for e in r])
    assert sync.stats.held == 0 and all(s.held == [] for s in out)
