rule evaluate:
    input:
        unpack(lambda wc: scores_of(wc.experiment, wc.variant)),
    output:
        "results/metrics/{experiment}/{variant}.json",
    log:
        "results/logs/evaluate/{experiment}_{variant}.log",
    params:
        config=RESOLVED_CONFIG,
        settings=section("evaluation"),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl evaluate --config {params.config} --experiment {wildcards.experiment}"
        " --variant {wildcards.variant} --background {input.background} --signal {input.signal}"
        " --output {output} 2> {log}"


rule baselines:
    # Baselines need only the test jets' metadata, which every scores file carries: take the
    # scores of the experiment's first variant (same test jets for every variant).
    input:
        unpack(lambda wc: scores_of(wc.experiment, experiment(wc.experiment)["variants"][0])),
    output:
        "results/metrics/{experiment}/baselines.json",
    log:
        "results/logs/evaluate/{experiment}_baselines.log",
    params:
        config=RESOLVED_CONFIG,
        settings=section("evaluation"),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl evaluate --config {params.config} --experiment {wildcards.experiment} --baselines"
        " --background {input.background} --signal {input.signal} --output {output} 2> {log}"


rule collect_metrics:
    input:
        all_metrics(),
    output:
        report("results/metrics.json", category="Metrics", caption="../report/metrics.rst"),
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
