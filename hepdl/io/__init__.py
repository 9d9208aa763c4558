"""Stage ingest: readers of canonical and user jet files (ROOT TTree or RNTuple, local or root://; HDF5) onto the
canonical jets schema, events clustered into jets (event layout); splits."""
