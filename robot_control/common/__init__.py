"""Pieces shared by every tier: environment defaults, config loading, ROS helpers."""
