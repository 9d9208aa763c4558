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
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl score --model {input.model} --images {input.images} --split test"
        " --output {output} 2> {log}"
