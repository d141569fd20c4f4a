"""robot_control: a Brain-Cerebellum-Body ROS 2 control stack for embodied-AI robots."""

__version__ = "0.1.0"
