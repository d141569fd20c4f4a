"""Rich gRPC errors shared by the servers (brain PlannerService, edge SkillService)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


def abort(context: grpc.ServicerContext, code: int, message: str,
          violations: list[tuple[str, str]] | None = None) -> None:
    """End the call with `code` and, for bad requests, a google.rpc.BadRequest listing each
    offending field and why (grpc-status rich error details)."""
    status = status_pb2.Status(code=code, message=message)
    if violations:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations]))
        status.details.append(detail)
    context.abort_with_status(rpc_status.to_status(status))
