"""Integration Lab's toolkit for notebooks and instructors: addresses, the stack, widgets, the grader."""
from .config import url

__all__ = ["url"]
