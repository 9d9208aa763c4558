rule report:
    input:
        metrics=all_metrics(),
        histories=[f"results/models/{name}/{variant}/history.csv" for name, variant in experiment_variants()],
    output:
        html="results/report/index.html",
        plots=report(
            directory("results/report/plots"),
            patterns=["{name}.png"],
            category="Plots",
            caption="../report/plots.rst",
        ),
    log:
        "results/logs/report.log",
    params:
        config=RESOLVED_CONFIG,
        histories=lambda wc, input: " ".join(
            f"{name}/{variant}={path}" for (name, variant), path in zip(experiment_variants(), input.histories)
        ),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl report --config {params.config} --metrics {input.metrics}"
        " --histories {params.histories} --output {output.html} 2> {log}"
