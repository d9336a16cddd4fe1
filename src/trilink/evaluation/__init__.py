"""Evaluation: metrics against truth, bounds, Monte-Carlo campaigns and reports."""
