rule train:
    # one model per (training dataset, image transform), shared by the experiments that train on that
    # dataset (model and training settings are global); score corrections need no retraining
    input:
        config=ancient(RESOLVED_CONFIG),
        images=train_images,
    output:
        model="results/models/{dataset}/{transform}/model.pt",
        history="results/models/{dataset}/{transform}/history.csv",
    log:
        "results/logs/train/{dataset}_{transform}.log",
    benchmark:
        "results/benchmarks/train/{dataset}_{transform}.tsv"
    params:
        settings=lambda wc: section("model") + section("training") + section("image_transforms", wc.transform)
        + str(SEED),
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
        "hepdl train --config {input.config} --transform {wildcards.transform}"
        " --images {input.images} --output {output.model} --history {output.history} 2> {log}"
