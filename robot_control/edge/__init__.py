"""Edge skills: embodiment adapters, scripted experts and a simulation episode runner.

    embodiment   EmbodimentAdapter: task-space command (ee position + gripper) -> joint targets
    experts      scripted reach / grasp / lift / transport / place / release (+ retreat)
    sim_episode  run expert chains in MujocoSimDriver (no ROS), record (obs, action) pairs
"""
