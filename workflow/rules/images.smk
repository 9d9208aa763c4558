rule images:
    input:
        jets_input,
    output:
        "results/images/{dataset}/shard{shard}.h5",
    log:
        "results/logs/images/{dataset}_shard{shard}.log",
    benchmark:
        "results/benchmarks/images/{dataset}_shard{shard}.tsv"
    params:
        config=RESOLVED_CONFIG,
        settings=lambda wc: section("images") + section("split") + section("datasets", wc.dataset),
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl images --config {params.config} --dataset {wildcards.dataset}"
        " --input {input} --output {output} 2> {log}"
