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
    # the cores Snakemake was given, spread over the training jobs (override: --set-threads train=N)
    threads: training_threads()
    resources:
        mem_mb=4000,
        runtime=240,
        # one GPU when training.device names cuda (the SLURM plugin turns it into --gpus=1)
        gpu=gpus_for_device(),
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl train --config {params.config} --variant {wildcards.variant}"
        " --images {input} --output {output.model} --history {output.history} 2> {log}"
