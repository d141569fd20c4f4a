import filecmp
from pathlib import Path

import pytest

from robot_control import protogen

pytestmark = pytest.mark.unit


def test_generated_modules_import():
    from robot_control.v1 import common_pb2, planner_pb2, planner_pb2_grpc, skill_pb2, skill_pb2_grpc

    assert planner_pb2.DESCRIPTOR.package == "robot_control.v1"
    assert hasattr(planner_pb2_grpc, "PlannerServiceStub")
    assert hasattr(skill_pb2_grpc, "SkillServiceServicer")
    assert common_pb2.WorldState and skill_pb2.SkillProgress


def test_committed_code_matches_proto(tmp_path):
    generated = protogen.generate(tmp_path)
    committed = Path(protogen.ROOT) / "robot_control" / "v1"
    assert generated, "protoc produced nothing"
    stale = [p.name for p in generated if not filecmp.cmp(p, committed / p.name, shallow=False)]
    assert not stale, f"stale generated code, run `make protos`: {stale}"
