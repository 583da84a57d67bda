"""answer-grader: grade interview answers point by point against expert rubrics."""

__version__ = "0.1.0"
