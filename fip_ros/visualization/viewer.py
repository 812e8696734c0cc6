"""The browser scene of fip-view (viser: a three.js page served by this process over a websocket).

Draws, per person: the skeleton, the mesh when one is given, the pelvis path on the floor, the feet in
contact (green discs), ground-reaction forces from the centres of pressure and joint moments as arrows. The
scene is in the global SMPL frame (y up), the floor is the plane y = 0. A Player adds a time slider and play
controls for recordings; live sources call Viewer.show() as messages come in.
"""

import threading
import time

import numpy as np

from fip_ros.core.smpl_tree import PARENTS

BONES = np.array([(PARENTS[j], j) for j in range(1, 24)])
FEET = (10, 11)  # SMPL left/right foot joints: where the contact discs go
COLORS = ((255, 110, 0), (30, 110, 255), (150, 150, 150), (200, 40, 200))  # skeletons, in order of tracks
CONTACT_COLOR = (0, 170, 40)
GRF_COLOR = (220, 30, 30)
MOMENT_COLOR = (240, 180, 0)
CAMERA_OFFSET = np.array([2.0, 0.6, 2.0])  # from the point looked at (pelvis height): front-left, above


def _disc(radius: float = 0.1, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A flat disc on the floor plane (vertices, faces): a foot in contact."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    verts = np.concatenate([[[0, 0, 0]], np.stack([radius * np.cos(a), 0 * a, radius * np.sin(a)], 1)])
    faces = np.stack([np.zeros(n), 1 + np.arange(n), 1 + (np.arange(n) + 1) % n], 1)
    return verts.astype(np.float32), faces.astype(np.uint32)


DISC = _disc()


class Viewer:
    """A viser server with a floor; ``show(name, frame)`` draws one person's frame (see Track.frame)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, force_scale: float = 0.001,
                 moment_scale: float = 0.004):
        import viser

        self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.force_scale, self.moment_scale = force_scale, moment_scale
        self.server.scene.set_up_direction("+y")
        self.server.scene.add_grid("/floor", 20.0, 20.0, plane="xz", cell_size=0.5, section_size=1.0,
                                   plane_color=(235, 235, 235), plane_opacity=1.0, infinite_grid=True,
                                   position=(0.0, -0.002, 0.0))
        self.look_at((0.0, 0.0, 0.0))
        self.gui = self.server.gui
        self._names: list[str] = []
        self._status: dict = {}  # person -> GUI text of their tracking status
        self._lock = threading.Lock()


    @property
    def url(self) -> str:
        return f"http://{self.server.get_host()}:{self.server.get_port()}"

    def color(self, name: str) -> tuple:
        if name not in self._names:
            self._names.append(name)
        return COLORS[self._names.index(name) % len(COLORS)]

    def look_at(self, point):
        """Point the camera of newly opened pages at ``point`` (a person's pelvis), from the front-left."""
        target = np.array([point[0], 0.9, point[2]], dtype=float)
        self.server.initial_camera.look_at = tuple(target)
        self.server.initial_camera.position = tuple(target + CAMERA_OFFSET)

    def follow(self, point):
        """Keep every open page's camera on ``point`` (a pelvis), from the front-left as at the start."""
        target = np.array([point[0], 0.9, point[2]], dtype=float)
        if not np.isfinite(target).all():
            return
        for client in self.server.get_clients().values():
            with client.atomic():  # the position first: setting it moves the look-at point along
                client.camera.position = target + CAMERA_OFFSET
                client.camera.look_at = target

    def status(self, name: str, text: str):
        """Show a person's tracking status (live) in the control panel."""
        if name not in self._status:
            self._status[name] = self.gui.add_markdown("")
        line = f"**{name}**: {text}"
        if self._status[name].content != line:
            self._status[name].content = line

    def trajectory(self, name: str, pelvis: np.ndarray):
        """The pelvis path (N,3), drawn on the floor."""
        path = np.asarray(pelvis, dtype=np.float32)[:, [0, 2]]
        path = path[np.isfinite(path).all(1)]
        if len(path) < 2:
            return
        pts = np.stack([path[:-1], path[1:]], 1)
        seg = np.zeros((len(pts), 2, 3), np.float32)
        seg[..., 0], seg[..., 1], seg[..., 2] = pts[..., 0], 0.003, pts[..., 1]
        self.server.scene.add_line_segments(f"/{name}/trajectory", seg, self.color(name), thickness=0.015)

    def show(self, name: str, frame: dict, faces=None):
        """Draw one frame: joints (24,3) and any of contact (2,), grf/cop (2,3), moments (24,3), vertices."""
        with self._lock:
            self._show(name, frame, faces)

    def _show(self, name, frame, faces):
        scene, color = self.server.scene, self.color(name)
        joints = np.asarray(frame["joints"], dtype=np.float32)
        if not np.isfinite(joints).all():
            return
        scene.add_line_segments(f"/{name}/skeleton", joints[BONES], color, thickness=0.035)
        scene.add_point_cloud(f"/{name}/joints", joints, color, point_size=0.05, point_shape="circle")
        if frame.get("vertices") is not None and faces is not None:
            scene.add_mesh_simple(f"/{name}/mesh", np.asarray(frame["vertices"], np.float32),
                                  np.asarray(faces, np.uint32), color=color, opacity=0.6)
        contact = frame.get("contact")
        on = np.zeros(2, bool) if contact is None else np.nan_to_num(np.asarray(contact)) > 0.5
        for side, foot, o in zip(("left", "right"), joints[list(FEET)], on, strict=True):
            scene.add_mesh_simple(f"/{name}/contact_{side}", *DISC, color=CONTACT_COLOR, side="double",
                                  position=(foot[0], 0.004, foot[2]), visible=bool(o), cast_shadow=False)
        grf, cop = frame.get("grf"), frame.get("cop")
        if cop is None or not np.isfinite(cop).all():  # no centres of pressure: from under the feet
            cop = joints[list(FEET)] * np.array([1, 0, 1], np.float32)
        arrows = []
        if grf is not None:
            arrows = [(c, c + g * self.force_scale) for c, g, o in zip(cop, grf, on, strict=True)
                      if o and np.isfinite(g).all()]
        self._arrows(f"/{name}/grf", arrows, GRF_COLOR)
        moments = frame.get("moments")
        arrows = []
        if moments is not None:
            # Joint 0 has no parent: its entry is the root residual, not a joint moment.
            arrows = [(p, p + m * self.moment_scale) for p, m in zip(joints[1:], moments[1:], strict=True)
                      if np.isfinite(m).all() and np.linalg.norm(m) * self.moment_scale > 0.02]
        self._arrows(f"/{name}/moments", arrows, MOMENT_COLOR)

    def _arrows(self, path: str, arrows: list, color):
        if not arrows:
            self.server.scene.add_line_segments(path, np.zeros((0, 2, 3), np.float32), color)
            return
        self.server.scene.add_arrows(path, np.asarray(arrows, np.float32), color, shaft_radius=0.012,
                                     head_radius=0.03, head_length=0.06)

    def stop(self):
        self.server.stop()


class Player:
    """Recordings: a time slider, play/pause and speed; every track drawn at the slider's time."""

    def __init__(self, viewer: Viewer, tracks: list, play: bool = True, start: float = 0.0):
        self.viewer, self.tracks = viewer, tracks
        self.end = max(float(t.times[-1]) for t in tracks)
        step = min(float(np.median(np.diff(t.times))) if len(t) > 1 else 1 / 60 for t in tracks)
        for t in tracks:
            viewer.color(t.name)
            viewer.trajectory(t.name, t.joints[:, 0])
        start = min(max(start, 0.0), self.end)
        viewer.look_at(tracks[0].joints[tracks[0].index_at(start), 0])
        gui = viewer.gui
        self.slider = gui.add_slider("time (s)", 0.0, max(self.end, step), step, start)
        self.playing = gui.add_checkbox("play", play)
        self.following = gui.add_checkbox(f"camera follows {tracks[0].name}", True)
        self.speed = gui.add_slider("speed", 0.1, 2.0, 0.1, 1.0)
        gui.add_markdown(" ".join(f"**{t.name}**: {len(t)} frames, {float(t.times[-1]):.1f} s."
                                  for t in tracks))
        self.slider.on_update(lambda _: self.draw())
        self.draw()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def draw(self):
        t = float(self.slider.value)
        for track in self.tracks:
            self.viewer.show(track.name, track.frame(track.index_at(t)), track.faces)
        if self.following.value:
            self.viewer.follow(self.tracks[0].joints[self.tracks[0].index_at(t), 0])

    def _run(self):
        last = time.monotonic()
        while not self._stop.wait(1 / 30):
            now = time.monotonic()
            if self.playing.value:
                t = float(self.slider.value) + (now - last) * float(self.speed.value)
                self.slider.value = t if t <= self.end else 0.0  # loops; on_update redraws
            last = now

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=1.0)
