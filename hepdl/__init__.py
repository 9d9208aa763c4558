"""hepdl: unsupervised anomaly detection on jet images with convolutional autoencoders.

Stages (each a module, a ``hepdl`` subcommand and a Snakemake rule):
generate -> (ingest) -> images -> train -> score -> evaluate -> report.
"""

__version__ = "0.1.0"
