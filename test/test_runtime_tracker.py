"""The ROS-free tracker's rules, in milliseconds and without DDS: calibration (and its retry), statuses,
held / lost / late sensors, gaps, time jumps, implausible stamps, bad samples, several people in one step."""

import numpy as np
import pytest

from fip_ros.runtime.tracker import DEGRADED, FRAME_NS, INITIALIZING, LOST, OK, Team, Tracker, TrackerConfig

G = 9.80665
STILL_ACC = (0.0, 0.0, G)
IDENTITY = (0.0, 0.0, 0.0, 1.0)
BODY = dict(sex="male", height=1.75, arm_length=0.51, leg_length=0.84)
PERIOD = 16_666_667  # ns, 60 Hz
T0 = 1_700_000_000 * 10**9  # a plausible wall-clock stamp


class Rig:
    """A team of ``people`` trackers on the shipped graphs, fed frame by frame with a receiver clock."""

    def __init__(self, people=1, period=PERIOD, jitter_ns=0, log=None, **config):
        """period: of the sensors (ns); jitter_ns: each set's stamp off by up to this, uniformly (seeded)."""
        cfg = TrackerConfig(**{"auto_calibration_duration": 0.25, "status_window": 0.25, **config})
        self.trackers = [Tracker(cfg, BODY, str(i), log) for i in range(people)]
        self.period, self.jitter_ns, self.rng = period, jitter_ns, np.random.default_rng(7)
        self.team = Team.load(self.trackers)
        self.n = 0
        self.poses = [[] for _ in range(people)]

    def frame(self, person=0, skip=(), quat=IDENTITY, acc=STILL_ACC, rng=None, clock_offset_ns=0):
        """Six samples of one person at the next stamp; returns that stamp."""
        stamp = T0 + self.n * self.period + int(self.rng.integers(-self.jitter_ns, self.jitter_ns + 1))
        t = self.trackers[person]
        for c in range(6):
            if c in skip:
                continue
            q, a = np.array(quat, float), np.array(acc, float)
            if rng is not None:
                q = q + rng.normal(0, 0.2, 4)
                q /= np.linalg.norm(q)
                a = a + rng.normal(0, 3.0, 3)
            self.poses[person] += t.push(c, stamp, q, a, now_ns=stamp - clock_offset_ns)
        return stamp

    def step(self):
        for i, pose in self.team.step():
            self.poses[i].append(pose)

    def run(self, frames, **kw):
        stamps = []
        for _ in range(frames):
            stamps.append(self.frame(**kw))
            self.step()
            self.n += 1
        return stamps

    def statuses(self, person=0, since=0):
        return [p.status for p in self.poses[person] if p.stamp_ns >= since]


def test_auto_calibration_then_initializing_then_ok():
    r = Rig()
    r.run(14)                                 # 0.23 s of a 0.25 s window: still collecting
    t = r.trackers[0]
    assert t.state == "calibrating" and r.poses[0] == [] and "T-pose" in t.waiting
    r.run(40)
    assert t.counters["calibrations"] == 1 and t.state == "tracking" and t.waiting == ""
    s = r.statuses()
    assert s[0] == INITIALIZING and s[-1] == OK and set(s) == {INITIALIZING, OK}
    # INITIALIZING lasts status_window (0.25 s) of input time: frames 0..14 after the reset (15 x 16.67 ms
    # is just over 0.25 s)
    assert s.count(INITIALIZING) == 15
    assert all(np.isfinite(p.local_rot).all() for p in r.poses[0])


def test_auto_calibration_retries_on_the_next_still_window_and_says_why():
    r = Rig()
    rng = np.random.default_rng(0)
    r.run(20, rng=rng)                        # the subject moves: the window is refused
    t = r.trackers[0]
    assert t.counters["failed_calibrations"] >= 1 and t.calibration is None
    assert "retrying" in t.waiting and "still" in t.waiting
    r.run(40)                                 # then stands still: the next window calibrates
    assert t.calibration is not None and t.counters["calibrations"] == 1 and r.poses[0]


def test_implausible_stamps_are_degraded_not_ok():
    r = Rig()
    r.run(60)
    eleven_days = 11 * 24 * 3600 * 10**9
    since = r.run(20, clock_offset_ns=eleven_days)[0]
    t = r.trackers[0]
    assert set(r.statuses(since=since)) == {DEGRADED}
    assert t.counters["implausible_stamps"] == 20 and t.clock_offset_s == pytest.approx(11 * 86400, rel=1e-6)
    r.run(20)
    assert t.clock_offset_s == 0.0 and r.statuses()[-1] == OK


def test_held_then_lost_sensor_then_recovery():
    r = Rig(hold_after=0.1, lost_after=0.4)
    r.run(60)
    assert r.statuses()[-1] == OK
    held = r.run(15, skip=(2,))               # 0.25 s silent: held in, DEGRADED
    s = r.statuses(since=held[0])
    assert s and set(s) == {DEGRADED} and r.trackers[0].counters["held"] > 0
    assert r.trackers[0].counters["lost"] == 0
    gone = r.run(40, skip=(2,))               # beyond lost_after: the last pose repeated, LOST
    lost = [p for p in r.poses[0] if p.stamp_ns >= gone[0] and p.status == LOST]
    assert lost and all(np.array_equal(p.local_rot, lost[0].local_rot) for p in lost)
    assert all(p.pelvis_acc is None for p in lost)
    back = r.run(40)[0]
    s = r.statuses(since=back)
    assert s[0] == INITIALIZING and s[-1] == OK and LOST not in s


def test_a_sensor_250_ms_late_does_not_stop_the_output():
    """From some time on, sensor 3's messages arrive 15 frames (250 ms) after the others': it is held in until
    the first one arrives, then the output waits for it and goes on at the full rate, whole and OK."""
    r = Rig()
    r.run(60)
    t = r.trackers[0]
    late = []
    for k in range(180):
        stamp = r.frame(skip=(3,))
        late.append(stamp)
        if k >= 15:
            r.poses[0] += t.push(3, late[k - 15], np.array(IDENTITY), np.array(STILL_ACC), now_ns=stamp)
        r.step()
        r.n += 1
    tail = [p for p in r.poses[0] if late[60] <= p.stamp_ns]  # after the first second: every frame, once
    assert [p.stamp_ns for p in tail] == late[60:180 - 15]
    assert set(p.status for p in tail[-60:]) == {OK}


def test_gap_and_time_jump_restart_the_state():
    r = Rig()
    r.run(60)
    t = r.trackers[0]
    r.n += 30                                 # 0.5 s without input (> max_gap)
    gap = r.run(5)[0]
    assert t.counters["gap_resets"] == 1 and r.statuses(since=gap)[0] == INITIALIZING
    r.n -= 3000                               # stamps 50 s back: a restarted player
    r.run(5)
    assert t.counters["time_resets"] == 1 and r.poses[0][-1].stamp_ns < gap


def test_bad_samples_are_rejected_counted_and_degrade():
    r = Rig()
    r.run(60)
    t = r.trackers[0]
    n = len(r.poses[0])
    bad = [r.run(1, acc=(np.nan, 0.0, G))[0], r.run(1, quat=(0.0, 0.0, 0.0, 1.5))[0],
           r.run(1, acc=(0.0, 0.0, 1000.0))[0]]
    c = t.counters
    assert (c["rejected_nan"], c["rejected_quat"], c["rejected_range"]) == (1, 1, 1)
    assert len(r.poses[0]) == n and not {p.stamp_ns for p in r.poses[0]} & set(bad)
    r.run(3)
    assert set(r.statuses()[-3:]) == {DEGRADED}


def test_three_people_in_one_step_match_each_alone():
    rng = np.random.default_rng(3)
    motion = [(rng.normal(0, 0.05, (6, 4)), rng.normal(0, 1.0, (6, 3))) for _ in range(40)]
    team, alone = Rig(people=3), [Rig() for _ in range(3)]
    team.trackers[1].set_body(dict(sex="female", height=1.6, arm_length=0.47, leg_length=0.76))
    alone[1].trackers[0].set_body(dict(sex="female", height=1.6, arm_length=0.47, leg_length=0.76))

    def feed(rig, person, k, scale):
        stamp = T0 + rig.n * PERIOD
        t = rig.trackers[person]
        for c in range(6):
            if k < 20:
                q, a = np.array(IDENTITY), np.array(STILL_ACC)
            else:
                q = np.array(IDENTITY) + motion[k - 20][0][c] * scale
                q, a = q / np.linalg.norm(q), np.array(STILL_ACC) + motion[k - 20][1][c]
            rig.poses[person] += t.push(c, stamp, q, a, now_ns=stamp)

    for k in range(60):
        for p in range(3):
            feed(team, p, k, p + 1)
            feed(alone[p], 0, k, p + 1)
        calls = team.team.step()
        assert len({i for i, _ in calls}) == len(calls)  # one round: each person once
        for i, pose in calls:
            team.poses[i].append(pose)
        for a in alone:
            a.step()
            a.n += 1
        team.n += 1
    for p in range(3):
        got, want = team.poses[p], alone[p].poses[0]
        assert len(got) == len(want) > 30
        assert max(np.abs(g.local_rot - w.local_rot).max() for g, w in zip(got, want, strict=True)) < 1e-5
        assert [g.status for g in got] == [w.status for w in want]
    assert not np.allclose(team.poses[0][-1].local_rot, team.poses[2][-1].local_rot)


@pytest.mark.parametrize("hz", [100, 120, 200])
def test_faster_sensors_are_thinned_to_60_hz_on_a_grid(hz):
    """The networks run at 60 Hz: of faster sensor sets, the one nearest each 1/60 s is taken, so the poses
    come at 60 Hz on average, each within half an input period of its grid time."""
    period = round(1e9 / hz)
    r = Rig(period=period)
    r.run(3 * hz)
    t = r.trackers[0]
    stamps = np.array([p.stamp_ns for p in r.poses[0]])
    assert len(stamps) > 150 and t.counters["thinned"] > 0
    # One pose per time of a 60 Hz grid, none skipped: each pose's offset from its grid time within a band
    # one input period wide (and a little for the grid following the stream's phase).
    offset = stamps - stamps[0] - np.arange(len(stamps)) * FRAME_NS
    assert np.ptp(offset) <= period + 1e6
    assert t.input_rate_hz == pytest.approx(hz, rel=1e-3) and not t.off_rate


def test_60_hz_sensors_with_jittery_stamps_lose_no_set():
    """Stamps off by up to 5 ms: after the grid has found the stream's phase, every set is taken."""
    r = Rig(jitter_ns=5_000_000)
    r.run(60)
    t = r.trackers[0]
    thinned, published = t.counters["thinned"], t.counters["published"]
    r.run(600)
    assert t.counters["thinned"] == thinned and t.counters["published"] == published + 600
    assert t.input_rate_hz == pytest.approx(60, rel=0.05) and not t.off_rate


@pytest.mark.parametrize("hz, reported, pace", [(40, True, "slowed down"), (50, False, ""), (70, False, ""),
                                                 (76, True, "sped up")])
def test_sensors_off_60_hz_and_not_thinned_are_reported_once(hz, reported, pace):
    """Every set of sensors up to 80 Hz is taken: a rate more than 20 % off 60 Hz is reported, once."""
    said = []
    r = Rig(period=round(1e9 / hz), log=lambda level, text: said.append((level, text)))
    r.run(2 * hz)
    t = r.trackers[0]
    assert t.counters["thinned"] == 0 and t.input_rate_hz == pytest.approx(hz, rel=1e-3)
    assert t.off_rate == reported
    told = f"sensor sets arrive at {hz} Hz: the networks run at 60 Hz and see the motion {pace}"
    rate = [(level, text) for level, text in said if f"{hz} Hz" in text]
    assert rate == ([("warning", told)] if reported else [])


def test_an_odd_first_interval_is_no_rate_to_report():
    said = []
    r = Rig(log=lambda level, text: said.append((level, text)))
    r.run(1)
    r.n += 4                                  # the second set 83 ms after the first (12 Hz for a moment)
    r.run(120)
    t = r.trackers[0]
    assert t.input_rate_hz == pytest.approx(60, rel=0.01) and not t.off_rate
    assert not [text for _, text in said if "Hz" in text]


def test_120_hz_sensors_give_the_60_hz_poses():
    """A 120 Hz stream whose every other set is a 60 Hz stream's (the sets between are other motion) gives
    exactly the poses of the 60 Hz stream, at its stamps: the sets between never reach the networks."""
    rng = np.random.default_rng(5)
    sixty = [(np.array(IDENTITY), np.array(STILL_ACC))] * 30  # 0.5 s still T-pose: calibration
    for k in range(90):
        axis = np.array([np.sin(0.1 * k), 1.0, np.cos(0.07 * k)])
        angle = 0.6 * np.sin(0.15 * k)
        q = np.r_[np.sin(angle / 2) * axis / np.linalg.norm(axis), np.cos(angle / 2)]
        sixty.append((q, np.array(STILL_ACC) + 2.0 * np.sin([0.2 * k, 0.3 * k, 0.1 * k])))
    runs = {}
    for hz in (60, 120):
        r = Rig(period=round(1e9 / hz))
        t = r.trackers[0]
        for k in range(len(sixty) * hz // 60):
            stamp = T0 + round(k * 1e9 / hz)      # the 60 Hz sets' stamps exactly
            if hz == 60 or k % 2 == 0 or k < 60:
                q, a = sixty[k * 60 // hz]
            else:                             # after calibration, another motion between the 60 Hz sets
                q = rng.normal(size=4)
                q, a = q / np.linalg.norm(q), rng.normal(0.0, 5.0, 3)
            for c in range(6):
                r.poses[0] += t.push(c, stamp, q, a, now_ns=stamp)
            r.step()
        runs[hz] = r.poses[0]
    assert len(runs[60]) > 80 and [p.stamp_ns for p in runs[120]] == [p.stamp_ns for p in runs[60]]
    for p120, p60 in zip(runs[120], runs[60], strict=True):
        np.testing.assert_allclose(p120.local_rot, p60.local_rot, atol=1e-6)
        np.testing.assert_allclose(p120.translation, p60.translation, atol=1e-9)
