"""Generated protobuf / gRPC modules of the robot_control.v1 contracts (see proto/).

Regenerate with `python -m robot_control.protogen`; test/unit/test_protos.py fails when
these files are stale.
"""
