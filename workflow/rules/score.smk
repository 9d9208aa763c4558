rule score:
    # role background / signal: the test jets of the experiment's background / signal dataset;
    # role validation: the validation jets of its training dataset (score corrections are fitted on them)
    input:
        model=lambda wc: model_path(wc.experiment, wc.transform),
        images=role_images,
    output:
        "results/scores/{experiment}/{transform}/{role}.h5",
    log:
        "results/logs/score/{experiment}_{transform}_{role}.log",
    benchmark:
        "results/benchmarks/score/{experiment}_{transform}_{role}.tsv"
    params:
        split=role_split,
        device=config["training"]["device"],
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device(),
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl score --model {input.model} --images {input.images} --split {params.split}"
        " --device {params.device} --output {output} 2> {log}"
