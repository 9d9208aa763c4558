rule report:
    input:
        config=ancient(RESOLVED_CONFIG),
        metrics=all_metrics(),
        histories=[model_path(name, transform, "history.csv") for name, transform in trainings()],
    output:
        # hepdl's own report, embedded whole in `snakemake --report` (page, PNG and PDF plots)
        html=report(
            directory("results/report"),
            htmlindex="index.html",
            category="Report",
            caption="../report/report.rst",
            labels={"experiment": "all", "variant": "all", "plot": "hepdl report (HTML)"},
        ),
        # the same plots as items of their own, labelled by experiment, variant and plot
        plots=report(
            directory("results/report/plots"),
            patterns=["{experiment}/{variant}/{plot}.png"],
            category="Plots",
            subcategory=report_plot_subcategory,
            caption="../report/plots.rst",
            labels=report_plot_labels,
        ),
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    params:
        histories=lambda wc, input: " ".join(
            f"{name}/{transform}={path}" for (name, transform), path in zip(trainings(), input.histories)
        ),
        settings=section("report"),
        version=VERSION,
    # plots are drawn in this many processes (`hepdl report --jobs`); one by default: on 2 busy
    # cores two processes cost more than they save (each warms its own font and text caches);
    # with free cores, e.g. --set-threads report=4
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl report --config {input.config} --metrics {input.metrics}"
        " --histories {params.histories} --output {output.html}/index.html --jobs {threads} 2> {log}"
