"""Stages score and evaluate: per-jet scores, score corrections, tagging metrics and baselines."""
