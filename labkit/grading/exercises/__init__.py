"""The course's graded exercises, one module each, every one declaring ``EXERCISE``."""
