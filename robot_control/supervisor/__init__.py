"""Stack descriptions (config/stacks/*.yaml) and the process supervisor behind `robot-control up`."""
