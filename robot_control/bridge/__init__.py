"""Bridge tier: the robot-side link to the cloud brain and the edge skill server."""
