"""Training pipeline for edge skills (`robot-control train`).

    episodes  MCAP (ROS 2 messages) demonstration datasets: write / read as numpy
    bc        numpy MLP behaviour cloning
    rollout   expert demonstrations and ONNX-policy rollouts in simulation, evaluation
    pipeline  train_skill: demos -> dataset -> BC -> ONNX + manifest -> evaluation
    cli       the `train` sub-command
"""
