"""The HTML report of the tagging results (html.py: the page; plots.py: its plots; style.py: their
look and labels; tables.py: its tables)."""

#: file stems of the report's plots (results/report/plots/<experiment>/<variant>/<stem>.png) and
#: what each shows; the workflow labels the plots of `snakemake --report` with them
PLOT_TITLES = {
    "roc": "ROC curves (all variants and baselines)",
    "both_directions": "ROC curves of every direction",
    "scores": "score distributions",
    "images": "average inputs, reconstructions, residuals",
    "training": "training curves",
    "mass_sculpting": "mass sculpting",
    "score_vs_mass": "score vs jet mass",
    "rejection_vs_jsd": "rejection vs 1/JSD",
}
#: the <experiment> of plots across experiments, the <variant> of plots across variants
ALL_EXPERIMENTS, ALL_VARIANTS = "all_experiments", "all_variants"
