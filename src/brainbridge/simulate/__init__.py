"""The embedded default: a simulated experiment with planted truth (stimuli, network, brain)."""
