rule generate:
    input:
        config=ancient(RESOLVED_CONFIG),
    output:
        "results/jets/{dataset}/shard{shard}.root",
    log:
        "results/logs/generate/{dataset}_shard{shard}.log",
    benchmark:
        "results/benchmarks/generate/{dataset}_shard{shard}.tsv"
    params:
        settings=lambda wc: section("datasets", wc.dataset) + section("generation") + str(SEED),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl generate --config {input.config} --dataset {wildcards.dataset}"
        " --shard {wildcards.shard} --output {output} 2> {log}"
