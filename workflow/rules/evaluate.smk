rule evaluate:
    # one variant: the model of (experiment, transform) with one score correction
    input:
        unpack(evaluate_inputs),
        config=ancient(RESOLVED_CONFIG),
    output:
        "results/metrics/{experiment}/{transform}/{correction}.json",
    log:
        "results/logs/evaluate/{experiment}_{transform}_{correction}.log",
    params:
        settings=lambda wc: section("evaluation")
        + (section("score_corrections", wc.correction) if wc.correction != "none" else ""),
        validation=lambda wc, input: f"--validation {input.validation}" if "validation" in input.keys() else "",
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl evaluate --config {input.config} --experiment {wildcards.experiment}"
        " --transform {wildcards.transform} --correction {wildcards.correction} {params.validation}"
        " --background {input.background} --signal {input.signal} --output {output} 2> {log}"


rule baselines:
    # Baselines need only the test jets' metadata, which every scores file carries: take the
    # scores of the experiment's first transform (same test jets for every transform).
    input:
        unpack(lambda wc: scores_of(wc.experiment, experiment(wc.experiment)["transforms"][0])),
        config=ancient(RESOLVED_CONFIG),
    output:
        "results/metrics/{experiment}/baselines.json",
    log:
        "results/logs/evaluate/{experiment}_baselines.log",
    params:
        settings=section("evaluation"),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl evaluate --config {input.config} --experiment {wildcards.experiment} --baselines"
        " --background {input.background} --signal {input.signal} --output {output} 2> {log}"


rule collect_metrics:
    input:
        all_metrics(),
    output:
        report(
            "results/metrics.json",
            category="Metrics",
            caption="../report/metrics.rst",
            labels={"experiment": "all", "variant": "all", "plot": "metrics (JSON)"},
        ),
    log:
        "results/logs/evaluate/collect.log",
    params:
        version=VERSION,
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl evaluate --collect {input} --output {output} 2> {log}"
