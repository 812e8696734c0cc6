"""Approximate-time synchroniser for N message streams (ROS-free; message_filters is not available here).

Greedy policy: every channel keeps a stamp-ordered queue; while all queues are non-empty, heads older than
the newest head by more than ``slop`` can never be matched (later messages on the newest channel are newer
still) and are dropped; once all heads lie within ``slop`` they are emitted together. Each queue spans at
most ``window`` seconds of stamps (sized in time, not in messages, so a sensor whose messages arrive up to
that late still joins its set, whatever the sensors' rate).

Holding (``hold_after_s`` > 0): a channel that has fallen silent no longer blocks the others; sets are matched
over the live channels and the silent one contributes its last emitted item again (listed in
``SyncedSet.held``), so a single dropped-out sensor does not stop the output. Silent = its last stamp is more
than ``hold_after`` behind the newest one seen AND every live channel has received ``HOLD_MIN_ARRIVALS``
messages since its last one. The second test keeps a consumer that falls behind from holding channels that
still arrive: its best-effort queues then lose samples unevenly, so stamps alone make a live channel look
behind, but every channel is still taken about once per executor cycle. A channel that never emitted
anything cannot be held.
"""

from collections import deque
from dataclasses import dataclass, field

HOLD_MIN_ARRIVALS = 3


@dataclass
class SyncStats:
    received: int = 0
    synced: int = 0
    out_of_order: int = 0   # stamp not newer than the channel's previous one
    late: int = 0           # stamp not newer than the last emitted set
    unmatched: int = 0      # dropped because no partner within slop can arrive any more
    overflow: int = 0       # dropped because older than the window (e.g. a sensor is missing)
    time_resets: int = 0    # stamps jumped backwards by more than the reset threshold
    held: int = 0           # sets emitted with at least one silent channel's last item reused

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SyncedSet:
    stamp_ns: int             # stamp of the reference channel (newest live stamp when it is held)
    stamps_ns: list[int]      # a held channel's entry is the stamp of its reused item
    items: list = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # channels whose last item was reused


class ApproximateTimeSync:
    def __init__(self, num_channels: int, slop_s: float, window_s: float = 0.5, reference: int = 0,
                 backward_reset_s: float = 0.5, hold_after_s: float = 0.0):
        if (num_channels < 1 or slop_s < 0 or not window_s > slop_s or not 0 <= reference < num_channels
                or hold_after_s < 0):
            raise ValueError("invalid synchroniser configuration")
        self.slop_ns = int(slop_s * 1e9)
        self.hold_after_ns = int(hold_after_s * 1e9)
        self.window_ns = int(window_s * 1e9)
        self.reference = reference
        self.backward_reset_ns = int(backward_reset_s * 1e9)
        self.stats = SyncStats()
        self._queues = [deque() for _ in range(num_channels)]
        self.reset()

    def reset(self):
        for q in self._queues:
            q.clear()
        n = len(self._queues)
        self._last_in = [None] * n
        self._last_emitted = [None] * n  # (stamp, item) per channel, what a hold reuses
        self._last_out = None
        self._arrivals = [0] * n  # messages received per channel
        self._arrivals_at_last = [self._arrivals] * n  # _arrivals when each channel last received

    def push(self, channel: int, stamp_ns: int, item) -> tuple[list[SyncedSet], bool]:
        """Add one message; returns (completed sets in time order, whether time jumped backwards)."""
        self.stats.received += 1
        self._arrivals[channel] += 1
        self._arrivals_at_last[channel] = list(self._arrivals)
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
            # Too late to join, but the channel is alive: a held channel stops being held from here.
            self._last_in[channel] = stamp_ns
            return [], False
        self._last_in[channel] = stamp_ns
        q = self._queues[channel]
        q.append((stamp_ns, item))
        while q[0][0] < stamp_ns - self.window_ns:
            q.popleft()
            self.stats.overflow += 1
        return self._match(), jumped

    def _live_channels(self) -> list[int]:
        """Channels to match now: all of them when every queue has a head; else the non-empty ones if every
        empty channel can be held (silent for longer than ``hold_after``); else none (wait)."""
        live = [c for c, q in enumerate(self._queues) if q]
        if len(live) == len(self._queues) or not live or self.hold_after_ns <= 0:
            return live if len(live) == len(self._queues) else []
        newest = max(t for t in self._last_in if t is not None)
        for c, q in enumerate(self._queues):  # a channel that emitted has a _last_in
            if q:
                continue
            if self._last_emitted[c] is None or newest - self._last_in[c] <= self.hold_after_ns:
                return []
            since = self._arrivals_at_last[c]
            if min(self._arrivals[k] - since[k] for k in live) < HOLD_MIN_ARRIVALS:
                return []
        return live

    def _match(self) -> list[SyncedSet]:
        out = []
        while live := self._live_channels():
            queues = [self._queues[c] for c in live]
            newest = max(q[0][0] for q in queues)
            stale = [q for q in queues if q[0][0] < newest - self.slop_ns]
            if stale:
                for q in stale:
                    q.popleft()
                    self.stats.unmatched += 1
                continue
            for c in live:
                self._last_emitted[c] = self._queues[c].popleft()
            held = [c for c in range(len(self._queues)) if c not in live]
            stamps = [s for s, _ in self._last_emitted]
            self._last_out = max(stamps[c] for c in live)
            self.stats.synced += 1
            self.stats.held += bool(held)
            stamp = self._last_out if self.reference in held else stamps[self.reference]
            out.append(SyncedSet(stamp, stamps, [i for _, i in self._last_emitted], held))
        return out
