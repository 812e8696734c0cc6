"""Approximate-time synchroniser for N message streams (ROS-free; message_filters is not available here).

Greedy policy: every channel keeps a stamp-ordered queue; while all queues are non-empty, heads older than
the newest head by more than ``slop`` can never be matched (later messages on the newest channel are newer
still) and are dropped; once all heads lie within ``slop`` they are emitted together.
"""

from collections import deque
from dataclasses import dataclass, field


@dataclass
class SyncStats:
    received: int = 0
    synced: int = 0
    out_of_order: int = 0   # stamp not newer than the channel's previous one
    late: int = 0           # stamp not newer than the last emitted set
    unmatched: int = 0      # dropped because no partner within slop can arrive any more
    overflow: int = 0       # dropped because a channel's queue was full (e.g. a sensor is missing)
    time_resets: int = 0    # stamps jumped backwards by more than the reset threshold

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SyncedSet:
    stamp_ns: int             # stamp of the reference channel
    stamps_ns: list[int]
    items: list = field(default_factory=list)


class ApproximateTimeSync:
    def __init__(self, num_channels: int, slop_s: float, queue_size: int = 10, reference: int = 0,
                 backward_reset_s: float = 0.5):
        if num_channels < 1 or slop_s < 0 or queue_size < 1 or not 0 <= reference < num_channels:
            raise ValueError("invalid synchroniser configuration")
        self.slop_ns = int(slop_s * 1e9)
        self.queue_size = queue_size
        self.reference = reference
        self.backward_reset_ns = int(backward_reset_s * 1e9)
        self.stats = SyncStats()
        self._queues = [deque() for _ in range(num_channels)]
        self._last_in = [None] * num_channels
        self._last_out = None

    def reset(self):
        for q in self._queues:
            q.clear()
        self._last_in = [None] * len(self._queues)
        self._last_out = None

    def push(self, channel: int, stamp_ns: int, item) -> tuple[list[SyncedSet], bool]:
        """Add one message; returns (completed sets in time order, whether time jumped backwards)."""
        self.stats.received += 1
        jumped = False
        last = self._last_in[channel]
        if last is not None and stamp_ns < last - self.backward_reset_ns:
            # A restarted player or clock: start over instead of discarding everything from now on.
            self.stats.time_resets += 1
            self.reset()
            jumped = True
        elif last is not None and stamp_ns <= last:
            self.stats.out_of_order += 1
            return [], False
        elif self._last_out is not None and stamp_ns <= self._last_out:
            self.stats.late += 1
            return [], False
        self._last_in[channel] = stamp_ns
        q = self._queues[channel]
        q.append((stamp_ns, item))
        if len(q) > self.queue_size:
            q.popleft()
            self.stats.overflow += 1
        return self._match(), jumped

    def _match(self) -> list[SyncedSet]:
        out = []
        while all(self._queues):
            newest = max(q[0][0] for q in self._queues)
            stale = [q for q in self._queues if q[0][0] < newest - self.slop_ns]
            if stale:
                for q in stale:
                    q.popleft()
                    self.stats.unmatched += 1
                continue
            heads = [q.popleft() for q in self._queues]
            stamps = [s for s, _ in heads]
            self._last_out = max(stamps)
            self.stats.synced += 1
            out.append(SyncedSet(stamps[self.reference], stamps, [i for _, i in heads]))
        return out
