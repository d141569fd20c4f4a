"""The cloud brain: contract-derived planning domain, Fast Downward planner, NL parser, gRPC server."""
