rule report:
    input:
        config=ancient(RESOLVED_CONFIG),
        metrics=all_metrics(),
        histories=[f"results/models/{name}/{transform}/history.csv" for name, transform in trainings()],
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
        histories=lambda wc, input: " ".join(
            f"{name}/{transform}={path}" for (name, transform), path in zip(trainings(), input.histories)
        ),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl report --config {input.config} --metrics {input.metrics}"
        " --histories {params.histories} --output {output.html} 2> {log}"
