rule train:
    input:
        train_images,
    output:
        model="results/models/{experiment}/{variant}/model.pt",
        history="results/models/{experiment}/{variant}/history.csv",
    log:
        "results/logs/train/{experiment}_{variant}.log",
    benchmark:
        "results/benchmarks/train/{experiment}_{variant}.tsv"
    params:
        config=RESOLVED_CONFIG,
        settings=lambda wc: section("model") + section("training") + section("postprocessing", wc.variant) + str(SEED),
        version=VERSION,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=240,
        # GPUs are requested per site in a profile (profiles/slurm), e.g. gpu=1 or slurm_extra.
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl train --config {params.config} --variant {wildcards.variant}"
        " --images {input} --output {output.model} --history {output.history} 2> {log}"
