"""The world state the bridge plans with (no ROS): objects seen on /objects + the robot.

`WorldModel` keeps the latest object observations (the body's /objects MarkerArray: one
marker per object, ``text`` = name, pose = centre, ``scale`` = full extents) and turns them
into a `robot_control.v1.WorldState`:

* Configured location names (``locations``, default table and bin) are locations; a marker
  with a location's name (the body publishes the bin this way; its origin is the centre of
  its floor) makes that location a *container region*: its footprint (marker yaw, x/y
  extents) from its floor up to its wall height. Every other marker is an object.
* An object whose centre lies inside a container's footprint (+ ``margin_m``) and whose
  bottom is no higher than the container's rim (+ margin) is *in* that container; otherwise,
  if its centre is at or above ``support_min_z``, it is on the support location (the table,
  which needs no marker); otherwise it is ``off_location`` ("floor"), a place the planner
  does not know, so goals about it are reported unsolvable rather than planned blindly.
* Arm groups come from the robot description (groups named ``arm`` or ``*_arm``) unless
  configured. What each arm holds is not observable from poses: `HoldingTracker` follows it
  from the skill contracts' ``holding`` effects of succeeded steps (or from the edge's own
  report), and held objects get the arm as their location. Observations overrule that belief:
  after a step that did not succeed the edge's estimate of the hand is adopted, and an object
  seen resting (in a container, or on the table surface) is held by no one.
* Kind and colour are read from names like ``red_cube`` (colour word first), for the
  brain's language matching.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from robot_control.v1 import common_pb2, planner_pb2, skill_pb2

COLOURS = frozenset({"red", "green", "blue", "yellow", "white", "black", "orange", "purple", "pink",
                     "gray", "grey", "brown", "silver", "gold", "cyan", "magenta"})
HOLDING = "holding"
GRASPED = "grasped"
HAND_EMPTY = "hand_empty"


@dataclass(frozen=True)
class ObjectObservation:
    """One object (or container) as seen: centre, orientation (x, y, z, w), full extents."""

    name: str
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    size: tuple[float, float, float] = (0.05, 0.05, 0.05)
    frame_id: str = "world"


@dataclass(frozen=True)
class WorldConfig:
    robot: str
    arm_groups: tuple[str, ...]
    locations: tuple[str, ...] = ("table", "bin")
    support_location: str = "table"
    support_min_z: float = 0.0  # object centres below this are off any known location
    off_location: str = "floor"
    margin_m: float = 0.01

    def __post_init__(self) -> None:
        if not self.arm_groups:
            raise ValueError("world: the robot has no arm groups")
        if self.support_location and self.support_location not in self.locations:
            raise ValueError(f"world: support location {self.support_location!r} is not in locations "
                             f"{list(self.locations)}")


def arm_groups_from_description(robot) -> tuple[str, ...]:
    """Arm groups of a `RobotDescription`: groups named ``arm`` or ending in ``_arm``."""
    return tuple(sorted(g for g in robot.groups if g == "arm" or g.endswith("_arm")))


def kind_and_colour(name: str) -> tuple[str, str]:
    parts = [p for p in name.lower().split("_") if p]
    if len(parts) >= 2 and parts[0] in COLOURS:
        return "_".join(parts[1:]), parts[0]
    return (parts[-1] if parts else name), ""


def _yaw(q: Sequence[float]) -> float:
    x, y, z, w = q
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def _pose(position: Sequence[float], orientation: Sequence[float], frame: str) -> common_pb2.Pose:
    return common_pb2.Pose(
        position=common_pb2.Vector3(x=position[0], y=position[1], z=position[2]),
        orientation=common_pb2.Quaternion(x=orientation[0], y=orientation[1], z=orientation[2],
                                          w=orientation[3]),
        frame_id=frame or "world")


def _vec(v: Sequence[float]) -> common_pb2.Vector3:
    return common_pb2.Vector3(x=v[0], y=v[1], z=v[2])


class WorldModel:
    """Thread-safe latest observations -> WorldState snapshots."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self._lock = threading.Condition()
        self._seen: dict[str, ObjectObservation] = {}
        self._stamp = 0.0  # time.monotonic() of the last update
        self._wall = 0.0
        self.updates = 0

    # -- input ------------------------------------------------------------------------------

    def update(self, observations: Iterable[ObjectObservation], *, replace: bool = True) -> None:
        """Record one observation message (a full list of what is visible when `replace`)."""
        with self._lock:
            if replace:
                self._seen = {}
            for obs in observations:
                if obs.name:
                    self._seen[obs.name] = obs
            self._stamp = time.monotonic()
            self._wall = time.time()
            self.updates += 1
            self._lock.notify_all()

    def wait_for_updates(self, since: int, count: int = 1, timeout_s: float = 0.0) -> bool:
        """Wait until `count` updates arrived after update number `since` (see `updates`)."""
        end = time.monotonic() + timeout_s
        with self._lock:
            while self.updates < since + count:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    @property
    def has_data(self) -> bool:
        with self._lock:
            return self.updates > 0

    @property
    def last_update(self) -> float:
        with self._lock:
            return self._stamp

    # -- output -----------------------------------------------------------------------------

    def location_of(self, obs: ObjectObservation, containers: Mapping[str, ObjectObservation]) -> str:
        m = self.config.margin_m
        x, y, z = obs.position
        bottom = z - obs.size[2] / 2.0
        for name, c in containers.items():
            cx, cy, cz = c.position
            yaw = _yaw(c.orientation)
            dx, dy = x - cx, y - cy
            lx = math.cos(yaw) * dx + math.sin(yaw) * dy
            ly = -math.sin(yaw) * dx + math.cos(yaw) * dy
            if (abs(lx) <= c.size[0] / 2.0 + m and abs(ly) <= c.size[1] / 2.0 + m
                    and bottom <= cz + c.size[2] + m and z >= cz - c.size[2] / 2.0 - m):
                return name
        if self.config.support_location and z >= self.config.support_min_z:
            return self.config.support_location
        return self.config.off_location

    def positions(self) -> dict[str, tuple[float, float, float]]:
        """Object (and container) name -> observed centre, now."""
        with self._lock:
            return {n: o.position for n, o in self._seen.items()}

    def movement(self, window_s: float) -> tuple[float, str]:
        """The largest displacement (m) of any object seen now and `window_s` ago, and which
        object; blocks for `window_s`."""
        before = self.positions()
        time.sleep(window_s)
        after = self.positions()
        moved = [(math.dist(p, before[n]), n) for n, p in after.items() if n in before]
        return max(moved, default=(0.0, ""))

    def resting(self, name: str, lift_m: float = 0.02) -> str:
        """Why object `name` is observed at rest where no hand can be lifting it, or "" (not
        seen, or possibly in a hand): inside a container, or its bottom within `lift_m` of the
        support surface (taken as the lowest container floor: the bin stands on the table)."""
        with self._lock:
            seen = dict(self._seen)
        obs = seen.get(name)
        containers = {n: o for n, o in seen.items() if n in self.config.locations}
        if obs is None or name in containers:
            return ""
        where = self.location_of(obs, containers)
        if where in containers:
            return f"{name} is in the {where}"
        if where == self.config.support_location and containers:
            top = min(c.position[2] for c in containers.values())
            bottom = obs.position[2] - obs.size[2] / 2.0
            if bottom <= top + lift_m:
                return f"{name} rests on the {where} (bottom {bottom:.3f} m, surface {top:.3f} m)"
        return ""

    def observed_locations(self) -> dict[str, str]:
        """Object name -> location as observed now (held objects not considered)."""
        with self._lock:
            seen = dict(self._seen)
        containers = {n: o for n, o in seen.items() if n in self.config.locations}
        return {n: self.location_of(o, containers) for n, o in seen.items() if n not in containers}

    def snapshot(self, holding: Mapping[str, str] | None = None,
                 arm_groups: Sequence[str] | None = None) -> common_pb2.WorldState:
        """The world now; `arm_groups` narrows the configured arms (e.g. to those the edge serves)."""
        cfg = self.config
        with self._lock:
            seen = dict(self._seen)
            wall = self._wall
        arms = [a for a in cfg.arm_groups if arm_groups is None or a in arm_groups]
        holding = {a: o for a, o in (holding or {}).items() if a in cfg.arm_groups and o}
        held_by = {o: a for a, o in holding.items()}
        arms += [a for a in holding if a not in arms]  # an arm holding something stays in the world
        world = common_pb2.WorldState(robot=cfg.robot, arm_groups=arms, stamp_s=wall)
        containers = {n: o for n, o in seen.items() if n in cfg.locations}
        for name in cfg.locations:
            loc = world.locations.add(name=name)
            c = containers.get(name)
            if c is not None:
                loc.pose.CopyFrom(_pose(c.position, c.orientation, c.frame_id))
                loc.size.CopyFrom(_vec(c.size))
        for name in sorted(seen):
            if name in containers:
                continue
            obs = seen[name]
            kind, colour = kind_and_colour(name)
            world.objects.append(common_pb2.ObjectState(
                name=name, kind=kind, color=colour, pose=_pose(obs.position, obs.orientation, obs.frame_id),
                size=_vec(obs.size), location=held_by.get(name) or self.location_of(obs, containers)))
        for obj, arm in sorted(held_by.items()):
            if obj not in seen:  # held but not seen (occluded by the hand): still the robot's
                kind, colour = kind_and_colour(obj)
                world.objects.append(common_pb2.ObjectState(name=obj, kind=kind, color=colour, location=arm))
        world.holding.update(holding)
        return world


class HoldingTracker:
    """What each arm grasps and holds, followed from skill effects (thread-safe, outlives tasks).

    `holding` (object lifted in the hand) is what `WorldState.holding` can express. An arm that
    has *grasped* an object still resting where it was (after grasp, before lift) cannot be
    expressed in a WorldState; `grasped_only()` lists those so the executor can bring the
    robot back to an expressible state before it replans.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holding: dict[str, str] = {}
        self._grasped: dict[str, str] = {}

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._holding)

    def grasped_only(self) -> dict[str, str]:
        with self._lock:
            return {a: o for a, o in self._grasped.items() if self._holding.get(a) != o}

    def reconcile(self, arm: str, observed: str, puts_down: bool = False) -> str:
        """Adopt an observation of what `arm` holds lifted ("" = nothing), e.g. the edge's
        estimate after a step that did not succeed. An object no longer held was lost from the
        hand (dropped in transport) unless the step `puts_down` (a place stopped with the object
        on the surface, still in the hand): then it stays grasped and the executor opens the
        hand before it replans. Returns what changed ("" if the belief already matched)."""
        with self._lock:
            believed = self._holding.get(arm, "")
            if believed == observed:
                return ""
            if observed:
                self._holding[arm] = self._grasped[arm] = observed
            else:
                del self._holding[arm]
                if not puts_down and self._grasped.get(arm) == believed:
                    del self._grasped[arm]
        return f"{arm} holds {observed or 'nothing'} (believed {believed}" + \
            (", still grasped)" if puts_down and not observed else ")")

    def forget(self, arm: str, obj: str) -> bool:
        """Drop every belief that `arm` holds or grasps `obj`; False if there was none."""
        with self._lock:
            found = False
            for table in (self._holding, self._grasped):
                if table.get(arm) == obj:
                    del table[arm]
                    found = True
            return found

    def apply(self, contract: skill_pb2.SkillContract | None, call: planner_pb2.SkillCall) -> None:
        """Apply the `grasped` / `holding` add and delete effects of a succeeded call of `contract`."""
        if contract is None:
            return
        tables = {HOLDING: self._holding, GRASPED: self._grasped}
        with self._lock:
            for cond, (arm, obj) in _bound_pairs(contract.delete_effects, call):
                table = tables.get(cond.predicate)
                if table is not None and table.get(arm) == obj:
                    del table[arm]
            for cond, (arm, obj) in _bound_pairs(contract.add_effects, call):
                table = tables.get(cond.predicate)
                if table is not None:
                    table[arm] = obj

    def assume_grasped(self, contract: skill_pb2.SkillContract | None, call: planner_pb2.SkillCall) -> str:
        """After a call of a grasping skill (one that adds `grasped`) that did not succeed: the
        hand may have closed partway on the object, so treat it as grasped (not lifted) and
        let the executor open the hand and back off before it replans; the next reach would
        otherwise drag the object along. Returns the object ("" if the skill does not grasp)."""
        if contract is None:
            return ""
        for cond, (arm, obj) in _bound_pairs(contract.add_effects, call):
            if cond.predicate == GRASPED:
                with self._lock:
                    if self._holding.get(arm) != obj:
                        self._grasped[arm] = obj
                        return obj
        return ""


def _bound_pairs(conds: Iterable[skill_pb2.SymbolicCondition], call: planner_pb2.SkillCall,
                 ) -> Iterable[tuple[skill_pb2.SymbolicCondition, tuple[str, str]]]:
    """The two-argument conditions among `conds` with both arguments bound by `call`'s symbols."""
    binding = {a.name: a.symbol for a in call.arguments if a.WhichOneof("value") == "symbol"}
    for cond in conds:
        vals = [binding.get(p) for p in cond.arguments]
        if len(vals) == 2 and vals[0] is not None and vals[1] is not None:
            yield cond, (vals[0], vals[1])
