"""Stage report: the HTML tagging report and its plots."""
