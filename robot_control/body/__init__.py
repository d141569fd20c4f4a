"""Body tier: hardware drivers behind one plugin contract, robot descriptions, the body node."""
