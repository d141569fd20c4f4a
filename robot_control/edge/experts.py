"""Scripted task-space experts for the six atomic edge skills (+ retreat), and their success checks.

Every skill is a list of phases. A phase has an ee waypoint (a function of the skill
context: object / ee / bin positions at skill start), a gripper command, a speed, a
tolerance and settle / timeout times. The expert action at a control tick is

    delta = clip(waypoint - measured ee, speed * dt)     gripper = phase gripper (ramped)

which the EmbodimentAdapter adds to the commanded ee point. Waypoints are written once
per embodiment family, through EmbodimentSpec.approach_dir / grasp_z_offset:

    G1 (side power grasp)   reach: raised waypoint beside the object (palm side), then down
                            beside it; grasp: slide sideways onto the object, close (fingers
                            first, then the thumb: EmbodimentSpec.hand_schedule); release: open,
                            slide the palm off sideways, then straight up
    Panda (top-down)        reach: above the object; grasp: descend, close; release: open, up

Transport carries the object to a slot of the bin, not its centre, so the bin holds two
objects: of two slots along the bin's long axis, the one farthest from objects already in
the bin (SkillContext.others), else the one nearest the object. The carry height clears
the rim and any other object close to the straight path.

Success conditions read the simulation (contacts, object pose), never the expert's plan:
    reach      ee within 2 cm of the pre-grasp point, object not disturbed (< 1 cm)
    grasp      object touches >= 2 distinct hand bodies (fingers / thumb / palm)
    lift       object bottom >= table + 8 cm and still touched by >= 2 hand bodies
    transport  object centre above the bin's inner footprint, above the rim, still held
    place      object inside the bin footprint, its bottom below the rim top
    release    object in the bin (as place), hand geoms >= 5 cm from the object, nothing touching
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from robot_control.body.sim import mujoco
from robot_control.edge.embodiment import EmbodimentSpec

SKILLS = ("reach", "grasp", "lift", "transport", "place", "release")
CHAIN = SKILLS


@dataclass
class SkillContext:
    """Quantities frozen at skill start (world frame) plus the live object position."""

    spec: EmbodimentSpec
    obj0: np.ndarray  # object centre at skill start
    ee0: np.ndarray  # measured ee point at skill start
    obj_size: np.ndarray  # full extents
    bin_pos: np.ndarray  # bin floor centre (on the table)
    bin_size: np.ndarray  # outer x, y, wall height
    table_top: float
    # other objects at skill start, (centre, full extents) each: the bin slot avoids those already
    # in the bin, the carry height clears those under the carry path
    others: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    @property
    def side(self) -> np.ndarray:
        """Unit vector from the object to where the hand waits (palm side / above)."""
        return np.asarray(self.spec.approach_dir, dtype=float)

    @property
    def grasp_point(self) -> np.ndarray:
        return self.obj0 + np.array([0.0, 0.0, self.spec.grasp_z_offset])


@dataclass(frozen=True)
class Phase:
    name: str
    waypoint: Callable[[SkillContext], np.ndarray]
    gripper: float
    speed: float = 0.25  # m/s
    tol: float = 0.01  # m, measured ee to waypoint
    settle: float = 0.0  # s to stay in the phase after reaching the waypoint
    timeout: float = 4.0  # s
    gripper_ramp: float = 0.0  # s to ramp the gripper from its previous value
    freeze_ik: bool = False  # hold the arm command (no IK) during this phase


@dataclass(frozen=True)
class Skill:
    name: str
    phases: tuple[Phase, ...]
    target: Callable[[SkillContext], np.ndarray]  # the skill's goal ee point (for observations)

    @property
    def max_duration(self) -> float:
        return sum(p.timeout for p in self.phases)


# -- waypoint helpers ---------------------------------------------------------------------
SIDE_CLEAR = 0.09  # G1: palm-centre offset from the object centre before the side approach
RAISE = 0.10  # height of the raised waypoint above the pre-grasp point
LIFT = 0.12
CARRY_ABOVE_RIM = 0.06  # object bottom above the bin rim while transporting
CARRY_OVER_OBJECTS = 0.04  # object bottom above other objects the carry passes over
CARRY_CORRIDOR = 0.12  # objects this close (xy, plus their radius) to the carry path are passed over
RETREAT_SIDE = 0.04  # side grasp release: palm moved off the object sideways, then
RETREAT_UP_SIDE = 0.14  # up (the hand's lower edge ends ~5 cm above the top of a 12 cm object)
BIN_SLOT = 0.05  # slot offset from the bin centre along its long axis
BIN_WALL = 0.01
BIN_FLOOR = 0.005  # bin floor thickness (scene.py)
PLACE_ABOVE_FLOOR = 0.012  # object bottom above the bin floor when released


def _is_side(ctx: SkillContext) -> bool:
    return abs(ctx.spec.approach_dir[2]) < 0.5


def _pregrasp(ctx: SkillContext) -> np.ndarray:
    if _is_side(ctx):
        return ctx.grasp_point + SIDE_CLEAR * ctx.side
    return ctx.grasp_point + np.array([0.0, 0.0, 0.08])


def _raised(ctx: SkillContext) -> np.ndarray:
    return _pregrasp(ctx) + np.array([0.0, 0.0, RAISE])


def _clear_table(ctx: SkillContext) -> np.ndarray:
    """Straight up from where the hand starts (the G1 hand hangs below the table edge)."""
    return np.array([ctx.ee0[0], ctx.ee0[1], max(ctx.ee0[2], _raised(ctx)[2])])


def _lifted(ctx: SkillContext) -> np.ndarray:
    return ctx.ee0 + np.array([0.0, 0.0, LIFT])


def bin_slot(ctx: SkillContext) -> np.ndarray:
    """Where (xy) in the bin the object goes: one of two slots along the bin's long axis, the one
    farthest from objects already in the bin; with an empty bin the one nearest the object, so a
    second object still fits."""
    centre = ctx.bin_pos[:2]
    inner = ctx.bin_size[:2] - 2 * BIN_WALL
    axis = int(np.argmax(inner))
    radius = float(np.hypot(ctx.obj_size[0], ctx.obj_size[1])) / 2
    offset = max(0.0, min(BIN_SLOT, inner[axis] / 2 - radius - 0.005))
    slots = []
    for sign in (1.0, -1.0):
        slot = centre.copy()
        slot[axis] += sign * offset
        slots.append(slot)
    inside = [p[:2] for p, _ in ctx.others if in_bin(p, np.zeros(3), ctx.bin_pos, ctx.bin_size)]

    def clearance(slot: np.ndarray) -> float:
        return min((float(np.linalg.norm(slot - p)) for p in inside), default=np.inf)

    return max(slots, key=lambda sl: (clearance(sl), -float(np.linalg.norm(sl - ctx.obj0[:2]))))


def _carry_bottom(ctx: SkillContext) -> float:
    """Object bottom height while carrying: above the bin rim and above objects under the path."""
    bottom = ctx.table_top + ctx.bin_size[2] + CARRY_ABOVE_RIM
    a, b = ctx.obj0[:2], bin_slot(ctx)
    seg = b - a
    length2 = float(seg @ seg)
    for pos, size in ctx.others:
        t = 0.0 if length2 < 1e-12 else float(np.clip((pos[:2] - a) @ seg / length2, 0.0, 1.0))
        dist = float(np.linalg.norm(pos[:2] - (a + t * seg)))
        if dist < CARRY_CORRIDOR + float(np.hypot(size[0], size[1])) / 2:
            bottom = max(bottom, pos[2] + size[2] / 2 + CARRY_OVER_OBJECTS)
    return bottom


def _carry(ctx: SkillContext) -> np.ndarray:
    """ee point that puts the object centre over its bin slot, bottom above the rim and obstacles."""
    obj_z = _carry_bottom(ctx) + ctx.obj_size[2] / 2
    offset = ctx.ee0 - ctx.obj0  # grasp offset (object in hand), kept while carrying
    slot = bin_slot(ctx)
    return np.array([slot[0], slot[1], obj_z]) + offset


def _carry_to_bin_height(ctx: SkillContext) -> np.ndarray:
    p = _carry(ctx)
    return np.array([ctx.ee0[0], ctx.ee0[1], max(p[2], ctx.ee0[2])])


def _place(ctx: SkillContext) -> np.ndarray:
    above_floor = min(PLACE_ABOVE_FLOOR, (ctx.bin_size[2] - BIN_FLOOR) / 2)  # always below the rim
    obj_z = ctx.bin_pos[2] + BIN_FLOOR + above_floor + ctx.obj_size[2] / 2
    return ctx.ee0 + np.array([0.0, 0.0, obj_z - ctx.obj0[2]])


def _retreat(ctx: SkillContext) -> np.ndarray:
    """Side grasp: palm slid off the object, then up until the hand is clear above its top (the
    opened fingers and thumb lie beside the object, so straight up is free); the side offset stays
    small, a far-out hand (the G1 over the bin's outer slot) is at the edge of its reach."""
    if _is_side(ctx):
        return ctx.ee0 + RETREAT_SIDE * ctx.side + np.array([0.0, 0.0, RETREAT_UP_SIDE])
    return ctx.ee0 + np.array([0.0, 0.0, 0.12])


def _retreat_side(ctx: SkillContext) -> np.ndarray:
    return ctx.ee0 + RETREAT_SIDE * ctx.side if _is_side(ctx) else ctx.ee0 + np.array([0.0, 0.0, 0.04])


def make_skills(spec: EmbodimentSpec) -> dict[str, Skill]:
    """The expert skills for one embodiment (side grasp when approach_dir is horizontal)."""
    side = abs(spec.approach_dir[2]) < 0.5
    close_ramp = 0.8 if side else 0.4
    reach = Skill("reach", (
        Phase("clear", _clear_table, 0.0, speed=0.30, tol=0.03, timeout=3.0),
        Phase("raise", _raised, 0.0, speed=0.30, tol=0.02, timeout=4.0),
        Phase("pregrasp", _pregrasp, 0.0, speed=0.20, tol=0.008, settle=0.1, timeout=3.0),
    ), _pregrasp)
    grasp = Skill("grasp", (
        Phase("approach", lambda c: c.grasp_point, 0.0, speed=0.10, tol=0.006, settle=0.1, timeout=3.0),
        Phase("close", lambda c: c.grasp_point, 1.0, speed=0.05, tol=1.0, settle=close_ramp + 0.5,
              timeout=close_ramp + 1.0, gripper_ramp=close_ramp),
    ), lambda c: c.grasp_point)
    lift = Skill("lift", (
        Phase("up", _lifted, 1.0, speed=0.15, tol=0.01, settle=0.3, timeout=3.0),
    ), _lifted)
    transport = Skill("transport", (
        Phase("over_rim", _carry_to_bin_height, 1.0, speed=0.15, tol=0.015, timeout=2.0),
        Phase("carry", _carry, 1.0, speed=0.15, tol=0.01, settle=0.3, timeout=4.0),
    ), _carry)
    place = Skill("place", (
        Phase("lower", _place, 1.0, speed=0.08, tol=0.008, settle=0.3, timeout=3.0),
    ), _place)
    release = Skill("release", (
        Phase("open", lambda c: c.ee0, 0.0, speed=0.05, tol=1.0, settle=0.6, timeout=1.0, gripper_ramp=0.4),
        Phase("back", _retreat_side, 0.0, speed=0.10, tol=0.015, timeout=2.0),
        Phase("up", _retreat, 0.0, speed=0.15, tol=0.015, settle=0.2, timeout=2.5),
    ), _retreat)
    return {s.name: s for s in (reach, grasp, lift, transport, place, release)}


# -- success checks from simulation state ------------------------------------------------------
@dataclass
class SimView:
    """Read-only helpers over a MuJoCo model/data for success checks."""

    model: mujoco.MjModel
    data: mujoco.MjData
    hand_bodies: tuple[str, ...]
    table_top: float
    _hand_ids: set[int] = field(init=False)

    def __post_init__(self) -> None:
        self._hand_ids = {self.model.body(n).id for n in self.hand_bodies}

    def object_geoms(self, name: str) -> list[int]:
        bid = self.model.body(name).id
        return [g for g in range(self.model.ngeom) if self.model.geom_bodyid[g] == bid]

    def hand_contacts(self, obj: str) -> set[str]:
        """Names of hand bodies currently touching the object."""
        m, d = self.model, self.data
        obj_id = m.body(obj).id
        touching: set[str] = set()
        for i in range(d.ncon):
            c = d.contact[i]
            b1, b2 = int(m.geom_bodyid[c.geom1]), int(m.geom_bodyid[c.geom2])
            if c.dist > 0.001:
                continue
            if b1 == obj_id and b2 in self._hand_ids:
                touching.add(m.body(b2).name)
            elif b2 == obj_id and b1 in self._hand_ids:
                touching.add(m.body(b1).name)
        return touching

    def hand_distance(self, obj: str, distmax: float = 0.2) -> float:
        """Smallest distance between any hand collision geom and the object's geoms."""
        m, d = self.model, self.data
        best = distmax
        fromto = np.zeros(6)
        for g in range(m.ngeom):
            if m.geom_bodyid[g] not in self._hand_ids or not (m.geom_contype[g] or m.geom_conaffinity[g]):
                continue
            for og in self.object_geoms(obj):
                best = min(best, mujoco.mj_geomDistance(m, d, g, og, distmax, fromto))
        return float(best)

    def obj_pos(self, obj: str) -> np.ndarray:
        return self.data.body(obj).xpos.copy()


def in_bin(pos: np.ndarray, size: np.ndarray, bin_pos: np.ndarray, bin_size: np.ndarray,
           wall: float = 0.01) -> bool:
    """Object centre inside the bin's inner footprint (xy)."""
    half = bin_size[:2] / 2 - wall
    return bool(np.all(np.abs(pos[:2] - bin_pos[:2]) <= half))


def check_success(skill: str, view: SimView, obj: str, ctx: SkillContext, ee: np.ndarray,
                  obj_start: np.ndarray) -> bool:
    pos = view.obj_pos(obj)
    bottom = pos[2] - ctx.obj_size[2] / 2
    rim = ctx.bin_pos[2] + ctx.bin_size[2]
    held = len(view.hand_contacts(obj)) >= 2
    if skill == "reach":
        return bool(np.linalg.norm(ee - _pregrasp(ctx)) < 0.02 and np.linalg.norm(pos - obj_start) < 0.01)
    if skill == "grasp":
        return held
    if skill == "lift":
        return bool(held and bottom >= view.table_top + 0.08)
    if skill == "transport":
        return bool(held and in_bin(pos, ctx.obj_size, ctx.bin_pos, ctx.bin_size) and bottom > rim)
    if skill == "place":
        return bool(in_bin(pos, ctx.obj_size, ctx.bin_pos, ctx.bin_size) and bottom < rim)
    if skill == "release":
        return bool(in_bin(pos, ctx.obj_size, ctx.bin_pos, ctx.bin_size) and bottom < rim
                    and not view.hand_contacts(obj) and view.hand_distance(obj) >= 0.05)
    raise ValueError(f"unknown skill {skill!r}")
