"""Stage ingest: readers of canonical and user jet files (ROOT, HDF5) onto the canonical jets schema; splits."""
