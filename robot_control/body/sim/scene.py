"""Tabletop pick-and-place scenes for the `mujoco_sim` driver, built with MjSpec.

Each scene is the robot's own Menagerie MJCF (see assets.py) plus a floor, lights,
cameras, a table, graspable objects with free joints and a shallow "bin" tray. World
frame: z up, x forward from the robot, y to its left. All sizes are full extents in m.

Physics (both scenes): timestep 0.001 s (1 kHz), cone="elliptic", impratio=10,
noslip_iterations=10; hand collision geoms and objects use condim=4, friction 1.0 —
settings measured on this stack to make real grasps hold.

G1 scene (Unitree G1 29-DoF + Dex3 hands, pelvis at (0, 0, 0.79), facing +x, standing free on
its position servos). Laid out for the RIGHT hand with an upright torso (the edge IK drives the
7-DoF arm only): once raised, the hand stays 0.84-1.06 m high, at most 0.36 m in front and
-0.40..+0.07 m to the side, where the arm meets position and grasp orientation to a few mm.
    table      top at z=0.82 (counter height for the 1.3 m robot), x 0.14..0.66, y -0.55..0.45
    red_cube   box 0.05 x 0.05 x 0.12, 0.15 kg, at (0.28, -0.09)  side power grasp
    green_can  cylinder d=0.052 h=0.12, 0.20 kg, at (0.28, 0.05)    side power grasp
    bin        tray 0.16 x 0.20 outside, walls 0.015 high, at (0.28, -0.30); two slots 5 cm
               either side of its centre along y (room for both objects)
    extra (on request; left of the can, clear of the right hand's paths):
               blue_box 0.04 x 0.06 x 0.10 0.12 kg at (0.27, 0.25),
               yellow_can d=0.05 h=0.10 0.10 kg at (0.42, 0.24)
    Why these numbers: the Dex3 side grasp holds an object centre-high, with the hand's
    lower edge ~3 cm above the object's bottom only for objects >= ~11 cm tall; that edge
    then clears the low bin rim, so the hand can lower an object into the bin and pass over
    the rim on its way to the red cube. The hand approaches each object from its right (-y)
    and needs ~17 cm of free table there: the red cube (picked first) is the rightmost
    object, the can 14 cm to its left, the bin to the right of both. Picking the can while
    the cube still stands on the table sweeps the hand through the cube.
    Seeded jitter: xy +-2.5 cm, box yaw +-20 deg (a side grasp closes on a face).

Panda scene (Franka Panda + hand, base link0 bolted on the table top at (0, 0, 0.72)):
    table      top at z=0.72, x -0.25..0.85, y -0.60..0.60
    red_cube   box 0.045, 0.08 kg, at (0.50, -0.15)
    green_cube box 0.040, 0.06 kg, at (0.45, 0.05)
    blue_cube  box 0.050, 0.10 kg, at (0.60, -0.02)
    bin        tray 0.16 x 0.20 outside, walls 0.04 high, at (0.40, 0.30)
    extra (on request): green_can d=0.052 h=0.12 0.20 kg at (0.62, 0.18)

Objects start resting on the table (their z is computed from the table top). With a seed
their xy is jittered (Panda: up to ±3 cm, boxes yawed up to ±45°; G1 see above), keeping a
1 cm clearance from each other and from the bin; the same seed gives the same poses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from robot_control.body.sim.assets import model_path

TIMESTEP = 0.001  # physics at 1 kHz
TABLE_TOP = 0.72
G1_TABLE_TOP = 0.82
BIN_NAME = "bin"
HAND_FRICTION = (1.0, 0.005, 0.0001)
OBJECT_FRICTION = (1.0, 0.005, 0.0001)
JITTER_XY = 0.03
JITTER_YAW = math.pi / 4
CLEARANCE = 0.01


class SceneError(ValueError):
    """Bad scene request (unknown robot/object, malformed object spec)."""


@dataclass(frozen=True)
class ObjectSpec:
    """A graspable object. size: full extents (x, y, z); a cylinder has x = y = diameter."""

    name: str
    shape: str  # "box" | "cylinder"
    size: tuple[float, float, float]
    mass: float
    rgba: tuple[float, float, float, float]
    xy: tuple[float, float]  # nominal position on the table

    @property
    def footprint_radius(self) -> float:
        """Radius of a circle containing the footprint at any yaw."""
        if self.shape == "cylinder":
            return self.size[0] / 2
        return math.hypot(self.size[0], self.size[1]) / 2


@dataclass(frozen=True)
class TableSpec:
    center_xy: tuple[float, float]
    size_xy: tuple[float, float]
    top: float = TABLE_TOP
    thickness: float = 0.03


@dataclass(frozen=True)
class BinSpec:
    xy: tuple[float, float]
    size: tuple[float, float, float] = (0.16, 0.20, 0.04)  # outer x, y; wall height
    wall: float = 0.01


@dataclass(frozen=True)
class CameraSpec:
    name: str
    pos: tuple[float, float, float]
    target: tuple[float, float, float]
    body: str | None = None  # None: fixed in the world; pos/target then in world frame
    fovy: float = 58.0


@dataclass(frozen=True)
class RobotScene:
    """What the driver needs to know about one robot's scene."""

    robot: str
    base_body: str
    base_qpos: tuple[float, ...] | None  # free-joint pose (x y z qw qx qy qz) for floating bases
    base_pos: tuple[float, float, float] | None  # where to bolt a fixed-base robot
    hand_bodies: tuple[str, ...]  # bodies whose collision geoms get grasp contact settings
    table: TableSpec
    bin: BinSpec
    catalog: tuple[ObjectSpec, ...]
    default_objects: tuple[str, ...]
    cameras: tuple[CameraSpec, ...]
    imu_site: str | None = None
    jitter_xy: float = JITTER_XY  # seeded object xy jitter (+- m)
    jitter_yaw: float = JITTER_YAW  # seeded box yaw jitter (+- rad)
    joint_prefix: str = ""  # description names = prefix + MJCF names (e.g. panda_joint1)
    default_camera: str = "overview"

    def object_spec(self, name: str) -> ObjectSpec:
        for spec in self.catalog:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.catalog)
        raise SceneError(f"{self.robot} scene: unknown object {name!r} (catalogue: {known})")


RED = (0.85, 0.15, 0.12, 1.0)
GREEN = (0.15, 0.7, 0.2, 1.0)
BLUE = (0.15, 0.3, 0.85, 1.0)
YELLOW = (0.95, 0.8, 0.1, 1.0)
GREY = (0.6, 0.6, 0.6, 1.0)

G1_HANDS = tuple(
    f"{side}_{link}"
    for side in ("left", "right")
    for link in ("wrist_yaw_link", "hand_thumb_0_link", "hand_thumb_1_link", "hand_thumb_2_link",
                 "hand_index_0_link", "hand_index_1_link", "hand_middle_0_link", "hand_middle_1_link")
)

SCENES: dict[str, RobotScene] = {
    "g1": RobotScene(
        robot="g1",
        base_body="pelvis",
        base_qpos=(0.0, 0.0, 0.79, 1.0, 0.0, 0.0, 0.0),  # the model's "stand" keyframe
        base_pos=None,
        hand_bodies=G1_HANDS,
        table=TableSpec(center_xy=(0.40, -0.05), size_xy=(0.52, 1.00), top=G1_TABLE_TOP),
        bin=BinSpec(xy=(0.28, -0.30), size=(0.16, 0.20, 0.015)),
        catalog=(
            ObjectSpec("red_cube", "box", (0.05, 0.05, 0.12), 0.15, RED, (0.28, -0.09)),
            ObjectSpec("green_can", "cylinder", (0.052, 0.052, 0.12), 0.20, GREEN, (0.28, 0.05)),
            ObjectSpec("blue_box", "box", (0.04, 0.06, 0.10), 0.12, BLUE, (0.27, 0.25)),
            ObjectSpec("yellow_can", "cylinder", (0.05, 0.05, 0.10), 0.10, YELLOW, (0.42, 0.24)),
        ),
        default_objects=("red_cube", "green_can"),
        cameras=(
            CameraSpec("overview", pos=(1.6, -0.9, 1.5), target=(0.3, -0.1, 0.85)),
            CameraSpec("front", pos=(1.5, 0.0, 1.2), target=(0.2, 0.0, 0.85)),
            # approximate G1 head camera (RealSense in the head), looking down at the table
            CameraSpec("head", pos=(0.06, 0.0, 0.45), target=(0.5, 0.0, -0.2), body="torso_link", fovy=70.0),
        ),
        imu_site="imu_in_pelvis",
        jitter_xy=0.025,
        jitter_yaw=0.35,
    ),
    "panda": RobotScene(
        robot="panda",
        base_body="link0",
        base_qpos=None,
        base_pos=(0.0, 0.0, TABLE_TOP),
        hand_bodies=("hand", "left_finger", "right_finger"),
        table=TableSpec(center_xy=(0.30, 0.0), size_xy=(1.10, 1.20)),
        bin=BinSpec(xy=(0.40, 0.30)),
        catalog=(
            ObjectSpec("red_cube", "box", (0.045, 0.045, 0.045), 0.08, RED, (0.50, -0.15)),
            ObjectSpec("green_cube", "box", (0.04, 0.04, 0.04), 0.06, GREEN, (0.45, 0.05)),
            ObjectSpec("blue_cube", "box", (0.05, 0.05, 0.05), 0.10, BLUE, (0.60, -0.02)),
            ObjectSpec("green_can", "cylinder", (0.052, 0.052, 0.12), 0.20, GREEN, (0.62, 0.18)),
        ),
        default_objects=("red_cube", "green_cube", "blue_cube"),
        cameras=(
            CameraSpec("overview", pos=(1.5, -1.0, 1.6), target=(0.4, 0.0, 0.75)),
            CameraSpec("front", pos=(1.6, 0.0, 1.3), target=(0.4, 0.0, 0.75)),
        ),
        joint_prefix="panda_",
    ),
}


def scene_for(robot: str) -> RobotScene:
    if robot not in SCENES:
        raise SceneError(f"no MuJoCo scene for robot {robot!r}; available: {', '.join(sorted(SCENES))}")
    return SCENES[robot]


def parse_objects(scene: RobotScene, objects: Any) -> tuple[ObjectSpec, ...]:
    """Resolve the `objects` option: names from the scene catalogue and/or full mappings.

        objects: [red_cube, {name: tall_box, shape: box, size: [0.05, 0.05, 0.15],
                             mass: 0.2, position: [0.4, -0.1], rgba: [1, 0, 1, 1]}]
    A mapping whose name is in the catalogue overrides only the keys it gives.
    """
    if objects is None:
        return tuple(scene.object_spec(n) for n in scene.default_objects)
    if not isinstance(objects, Sequence) or isinstance(objects, (str, bytes)):
        raise SceneError(f"objects: expected a list of object names or mappings, got {objects!r}")
    result: list[ObjectSpec] = []
    for i, item in enumerate(objects):
        where = f"objects[{i}]"
        if isinstance(item, str):
            result.append(scene.object_spec(item))
        elif isinstance(item, Mapping):
            result.append(_object_from_mapping(scene, item, where))
        else:
            raise SceneError(f"{where}: expected an object name or a mapping, got {item!r}")
    names = [o.name for o in result]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SceneError(f"objects: duplicate name(s): {', '.join(dupes)}")
    if BIN_NAME in names:
        raise SceneError(f"objects: {BIN_NAME!r} is reserved for the target tray")
    return tuple(result)


def _numbers(value: Any, n: int, where: str) -> tuple[float, ...]:
    if (not isinstance(value, Sequence) or isinstance(value, str) or len(value) != n
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       for v in value)):
        raise SceneError(f"{where}: expected {n} finite numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _object_from_mapping(scene: RobotScene, item: Mapping[str, Any], where: str) -> ObjectSpec:
    allowed = {"name", "shape", "size", "mass", "rgba", "position"}
    unknown = sorted(set(map(str, item)) - allowed)
    if unknown:
        raise SceneError(f"{where}: unknown key(s) {', '.join(unknown)} "
                         f"(allowed: {', '.join(sorted(allowed))})")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise SceneError(f"{where}.name: expected a non-empty string, got {name!r}")
    base = next((s for s in scene.catalog if s.name == name), None)
    if base is None:
        missing = [k for k in ("shape", "size", "mass", "position") if k not in item]
        if missing:
            raise SceneError(f"{where} ({name}): not in the catalogue, so it needs {', '.join(missing)}")
        base = ObjectSpec(name, "box", (0.05, 0.05, 0.05), 0.1, GREY, (0.0, 0.0))
    shape = item.get("shape", base.shape)
    if shape not in ("box", "cylinder"):
        raise SceneError(f"{where}.shape: expected box or cylinder, got {shape!r}")
    size = base.size
    if "size" in item:
        if shape == "cylinder":
            d, h = _numbers(item["size"], 2, f"{where}.size ([diameter, height])")
            size = (d, d, h)
        else:
            size = _numbers(item["size"], 3, f"{where}.size")  # type: ignore[assignment]
    if min(size) <= 0 or max(size) > 0.5:
        raise SceneError(f"{where}.size: extents must be in (0, 0.5] m, got {list(size)}")
    mass = item.get("mass", base.mass)
    if isinstance(mass, bool) or not isinstance(mass, (int, float)) or not 0 < mass <= 5:
        raise SceneError(f"{where}.mass: expected a number in (0, 5] kg, got {mass!r}")
    xy = _numbers(item["position"], 2, f"{where}.position") if "position" in item else base.xy
    rgba = _numbers(item["rgba"], 4, f"{where}.rgba") if "rgba" in item else base.rgba
    return ObjectSpec(name, shape, size, float(mass), rgba, xy)  # type: ignore[arg-type]


# -- placement -----------------------------------------------------------------------
@dataclass
class Placement:
    name: str
    pos: np.ndarray  # (3,) world
    quat: np.ndarray  # (4,) w, x, y, z (MuJoCo order)


def yaw_quat(yaw: float) -> np.ndarray:
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def place_objects(scene: RobotScene, objects: Sequence[ObjectSpec], seed: int | None,
                  bin_xy: tuple[float, float] | None = None) -> list[Placement]:
    """Resting poses on the table: nominal for seed None, jittered (no overlaps) otherwise."""
    bxy = np.array(bin_xy if bin_xy is not None else scene.bin.xy)
    bin_r = math.hypot(scene.bin.size[0], scene.bin.size[1]) / 2
    rng = np.random.default_rng(seed) if seed is not None else None
    placed: list[tuple[np.ndarray, float]] = []
    out: list[Placement] = []
    for obj in objects:
        nominal = np.array(obj.xy, dtype=float)
        xy, yaw = nominal, 0.0
        if rng is not None:
            for _ in range(100):
                cand = nominal + rng.uniform(-scene.jitter_xy, scene.jitter_xy, 2)
                if _free(cand, obj.footprint_radius, placed, bxy, bin_r):
                    xy = cand
                    break
            if obj.shape == "box":
                yaw = float(rng.uniform(-scene.jitter_yaw, scene.jitter_yaw))
        placed.append((xy, obj.footprint_radius))
        z = scene.table.top + obj.size[2] / 2
        out.append(Placement(obj.name, np.array([xy[0], xy[1], z]), yaw_quat(yaw)))
    return out


def _free(xy: np.ndarray, r: float, placed: list[tuple[np.ndarray, float]], bin_xy: np.ndarray,
          bin_r: float) -> bool:
    if np.linalg.norm(xy - bin_xy) < r + bin_r + CLEARANCE:
        return False
    return all(np.linalg.norm(xy - p) >= r + pr + CLEARANCE for p, pr in placed)


# -- building --------------------------------------------------------------------------
@dataclass
class BuiltScene:
    scene: RobotScene
    model: mujoco.MjModel
    objects: tuple[ObjectSpec, ...]
    spec: mujoco.MjSpec = field(repr=False)

    def placements(self, seed: int | None) -> list[Placement]:
        return place_objects(self.scene, self.objects, seed)


def look_at_quat(pos: Sequence[float], target: Sequence[float]) -> list[float]:
    """Camera quaternion (w, x, y, z): MuJoCo cameras look along -z with +y up."""
    back = np.asarray(pos, float) - np.asarray(target, float)
    back /= np.linalg.norm(back)
    up_hint = np.array([0.0, 0.0, 1.0])
    right = np.cross(up_hint, back)
    if np.linalg.norm(right) < 1e-6:
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    mat = np.column_stack([right, up, back]).reshape(-1)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat)
    return quat.tolist()


def build(robot: str, objects: Any = None) -> BuiltScene:
    """Compile the scene for `robot` with the given `objects` option (None: defaults)."""
    scene = scene_for(robot)
    object_specs = parse_objects(scene, objects)
    spec = mujoco.MjSpec.from_file(str(model_path(robot)))

    # The robot's keyframes have the robot's qpos size only; the driver sets poses itself.
    for key in list(spec.keys):
        spec.delete(key)

    opt = spec.option
    opt.timestep = TIMESTEP
    opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    opt.impratio = 10.0
    opt.noslip_iterations = 10
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 960
    spec.visual.headlight.diffuse = [0.6, 0.6, 0.6]
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]

    _add_environment(spec)

    if scene.base_pos is not None:
        spec.body(scene.base_body).pos = list(scene.base_pos)

    hand_bodies = set(scene.hand_bodies)
    for geom in spec.geoms:
        parent = geom.parent
        if parent is not None and parent.name in hand_bodies and (geom.contype or geom.conaffinity):
            geom.condim = 4
            geom.friction = list(HAND_FRICTION)

    if scene.imu_site is not None:
        _ensure_imu_sensors(spec, scene.imu_site)

    _add_table(spec, scene.table)
    _add_bin(spec, scene.bin, scene.table.top)
    for placement, obj in zip(place_objects(scene, object_specs, None), object_specs, strict=True):
        _add_object(spec, obj, placement)
    for cam in scene.cameras:
        parent = spec.worldbody if cam.body is None else spec.body(cam.body)
        parent.add_camera(name=cam.name, pos=list(cam.pos), quat=look_at_quat(cam.pos, cam.target),
                          fovy=cam.fovy)
    try:
        model = spec.compile()
    except ValueError as exc:
        raise SceneError(f"{robot} scene failed to compile: {exc}") from exc
    return BuiltScene(scene=scene, model=model, objects=object_specs, spec=spec)


def _add_environment(spec: mujoco.MjSpec) -> None:
    spec.add_texture(name="skybox", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT, rgb1=[0.3, 0.5, 0.7], rgb2=[0, 0, 0],
                     width=512, height=3072)
    spec.add_texture(name="groundplane", type=mujoco.mjtTexture.mjTEXTURE_2D,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, mark=mujoco.mjtMark.mjMARK_EDGE,
                     rgb1=[0.2, 0.3, 0.4], rgb2=[0.1, 0.2, 0.3], markrgb=[0.8, 0.8, 0.8],
                     width=300, height=300)
    floor_mat = spec.add_material(name="groundplane", texuniform=True, texrepeat=[5, 5], reflectance=0.2)
    floor_mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "groundplane"
    spec.add_material(name="table_wood", rgba=[0.55, 0.4, 0.25, 1.0])
    spec.add_material(name="bin_plastic", rgba=[0.3, 0.35, 0.45, 1.0])
    world = spec.worldbody
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], material="groundplane")
    world.add_light(name="key_light", pos=[0.5, 0, 3.0], dir=[0, 0, -1],
                    type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL)


def _ensure_imu_sensors(spec: mujoco.MjSpec, site: str) -> None:
    """Make sure the IMU site has framequat, gyro and accelerometer sensors."""
    wanted = {
        mujoco.mjtSensor.mjSENS_FRAMEQUAT: "orientation",
        mujoco.mjtSensor.mjSENS_GYRO: "angular-velocity",
        mujoco.mjtSensor.mjSENS_ACCELEROMETER: "linear-acceleration",
    }
    have = {s.type for s in spec.sensors if s.objname == site}
    for sensor_type, suffix in wanted.items():
        if sensor_type not in have:
            spec.add_sensor(name=f"{site}-{suffix}", type=sensor_type, objtype=mujoco.mjtObj.mjOBJ_SITE,
                            objname=site)


def _add_table(spec: mujoco.MjSpec, table: TableSpec) -> None:
    cx, cy = table.center_xy
    sx, sy = table.size_xy
    body = spec.worldbody.add_body(name="table", pos=[cx, cy, 0.0])
    body.add_geom(name="table_top", type=mujoco.mjtGeom.mjGEOM_BOX,
                  size=[sx / 2, sy / 2, table.thickness / 2], pos=[0, 0, table.top - table.thickness / 2],
                  material="table_wood", friction=[1.0, 0.005, 0.0001])
    leg_h = table.top - table.thickness
    for i, (lx, ly) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        body.add_geom(name=f"table_leg{i}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.025, 0.025, leg_h / 2],
                      pos=[lx * (sx / 2 - 0.04), ly * (sy / 2 - 0.04), leg_h / 2], material="table_wood")


def _add_bin(spec: mujoco.MjSpec, spec_bin: BinSpec, top: float) -> None:
    """A static shallow tray; its body origin is the centre of its floor, on the table."""
    bx, by, h = spec_bin.size
    w = spec_bin.wall
    body = spec.worldbody.add_body(name=BIN_NAME, pos=[spec_bin.xy[0], spec_bin.xy[1], top])
    box = mujoco.mjtGeom.mjGEOM_BOX
    body.add_geom(name="bin_floor", type=box, size=[bx / 2, by / 2, 0.0025], pos=[0, 0, 0.0025],
                  material="bin_plastic")
    body.add_geom(name="bin_wall_px", type=box, size=[w / 2, by / 2, h / 2], pos=[bx / 2 - w / 2, 0, h / 2],
                  material="bin_plastic")
    body.add_geom(name="bin_wall_nx", type=box, size=[w / 2, by / 2, h / 2], pos=[-bx / 2 + w / 2, 0, h / 2],
                  material="bin_plastic")
    body.add_geom(name="bin_wall_py", type=box, size=[bx / 2, w / 2, h / 2], pos=[0, by / 2 - w / 2, h / 2],
                  material="bin_plastic")
    body.add_geom(name="bin_wall_ny", type=box, size=[bx / 2, w / 2, h / 2], pos=[0, -by / 2 + w / 2, h / 2],
                  material="bin_plastic")
    body.add_site(name="bin_center", pos=[0, 0, 0.005], size=[0.01, 0.01, 0.01], rgba=[0, 1, 0, 0.3])


def _add_object(spec: mujoco.MjSpec, obj: ObjectSpec, placement: Placement) -> None:
    body = spec.worldbody.add_body(name=obj.name, pos=placement.pos.tolist(), quat=placement.quat.tolist())
    body.add_freejoint(name=f"{obj.name}_joint")
    sx, sy, sz = obj.size
    if obj.shape == "cylinder":
        gtype, size = mujoco.mjtGeom.mjGEOM_CYLINDER, [sx / 2, sz / 2, 0]
    else:
        gtype, size = mujoco.mjtGeom.mjGEOM_BOX, [sx / 2, sy / 2, sz / 2]
    body.add_geom(name=f"{obj.name}_geom", type=gtype, size=size, mass=obj.mass, rgba=list(obj.rgba),
                  condim=4, friction=list(OBJECT_FRICTION))
    body.add_site(name=f"{obj.name}_site", size=[0.005, 0.005, 0.005], rgba=[1, 1, 1, 0])

