"""Application layer: the commands (CLI) and the stages they run, each through one engine."""
