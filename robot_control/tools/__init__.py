"""Operator and test tools that run as ROS nodes."""
