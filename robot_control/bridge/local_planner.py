"""On-robot fallback planner: same contracts-derived domain and Fast Downward, goals only.

Used by `robot_control.bridge.planner_client.PlannerClient` when the cloud brain is
unreachable or misses its deadline. It never imports the language model (no torch on the
robot's planning path): instruction-only requests are refused with a message asking for
structured goals. Its planner budget is tighter than the cloud's (default 1 s).
"""

from __future__ import annotations

import time

from robot_control.brain.planner import Planner
from robot_control.brain.service import PlanningCore
from robot_control.v1 import planner_pb2

LOCAL_PLANNER_NAME = "local"


class LocalPlanner:
    """Structured-goal planning in-process on the robot."""

    def __init__(self, max_budget_s: float = 1.0, planner: Planner | None = None) -> None:
        self.max_budget_s = max_budget_s
        self.core = PlanningCore(planner or Planner(), interpret=None, default_budget_s=max_budget_s)

    def can_plan(self, request: planner_pb2.PlanRequest) -> bool:
        return request.WhichOneof("task") == "goals"

    def plan(self, request: planner_pb2.PlanRequest, time_left_s: float | None = None) -> planner_pb2.PlanResponse:
        """Plan; raises domain.RequestError on bad requests, TimeoutError past the budget."""
        req = planner_pb2.PlanRequest()
        req.CopyFrom(request)
        budget = min(req.planner_budget_s or self.max_budget_s, self.max_budget_s)
        req.planner_budget_s = budget
        t0 = time.perf_counter()
        resp = self.core.make_plan(req, time_left_s)
        resp.planner = f"{LOCAL_PLANNER_NAME}:{resp.planner}" if resp.planner else LOCAL_PLANNER_NAME
        resp.server_timing.total_s = time.perf_counter() - t0
        return resp
