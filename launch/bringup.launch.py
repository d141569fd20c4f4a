"""Bring up a robot_control stack with ROS 2 launch (for users with a ROS 2 distro).

Builds exactly the node set of a stack file (config/stacks/<stack>.yaml), the same file
`robot-control up` reads, so both paths stay identical:

    ros2 launch robot_control bringup.launch.py stack:=sim_g1
    ros2 launch robot_control bringup.launch.py stack:=/path/to/my_stack.yaml
    ros2 launch robot_control bringup.launch.py stack:=demo_g1 use_cloud:=false record:=true
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from robot_control.common.ros_env import apply_ros_env_defaults
from robot_control.launch_support import STACK_LAUNCH_ARGUMENTS, launch_entities_for_stack, stack_for_launch


def _nodes(context, *args, **kwargs):
    stack = LaunchConfiguration("stack").perform(context)
    robot = LaunchConfiguration("robot").perform(context)
    given = {name: LaunchConfiguration(name).perform(context) for name in STACK_LAUNCH_ARGUMENTS}
    return launch_entities_for_stack(stack_for_launch(stack or f"sim_{robot}", given), Node, ExecuteProcess)


def generate_launch_description() -> LaunchDescription:
    apply_ros_env_defaults()
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="g1", description="g1 or panda (selects sim_<robot>)"),
        DeclareLaunchArgument("stack", default_value="", description="stack name or file; overrides robot"),
        *[DeclareLaunchArgument(name, default_value="", description=f"{text} (empty: the stack's default)")
          for name, text in STACK_LAUNCH_ARGUMENTS.items()],
        OpaqueFunction(function=_nodes),
    ])
