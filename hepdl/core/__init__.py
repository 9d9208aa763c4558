"""Shared infrastructure of every stage: errors, atomic writes, progress, provenance, safe checkpoint files."""
