"""Example robot_control body driver package (see docs/adding-a-driver.md)."""

from pathlib import Path

#: The robot description shipped with this package (body node parameter `robot`).
ROBOT_DESCRIPTION = Path(__file__).with_name("example_arm.yaml")
