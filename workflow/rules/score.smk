rule score:
    input:
        model="results/models/{experiment}/{variant}/model.pt",
        images=role_images,
    output:
        "results/scores/{experiment}/{variant}/{role}.h5",
    log:
        "results/logs/score/{experiment}_{variant}_{role}.log",
    benchmark:
        "results/benchmarks/score/{experiment}_{variant}_{role}.tsv"
    params:
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
        "hepdl score --model {input.model} --images {input.images} --split test"
        " --device {params.device} --output {output} 2> {log}"
