rule images:
    input:
        config=ancient(RESOLVED_CONFIG),
        jets=jets_input,
    output:
        images="results/images/{dataset}/shard{shard}.h5",
        average=report(
            "results/plots/images/{dataset}/shard{shard}_average.png",
            category="Jet images",
            caption="../report/jet_images.rst",
            labels={"dataset": "{dataset}", "shard": "{shard}", "plot": "average image"},
        ),
        gallery=report(
            "results/plots/images/{dataset}/shard{shard}_gallery.png",
            category="Jet images",
            caption="../report/jet_images.rst",
            labels={"dataset": "{dataset}", "shard": "{shard}", "plot": "single jets"},
        ),
    log:
        "results/logs/images/{dataset}_shard{shard}.log",
    benchmark:
        "results/benchmarks/images/{dataset}_shard{shard}.tsv"
    params:
        settings=lambda wc: section("images") + section("split") + section("datasets", wc.dataset),
        # the input as given (local path or root:// URL): remote files are not Snakemake inputs
        source=jets_source,
        split=shard_split,
        version=VERSION,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../envs/hepdl.yaml"
    shell:
        "hepdl images --config {input.config} --dataset {wildcards.dataset}"
        " --input {params.source:q} {params.split} --output {output.images}"
        " --plots results/plots/images/{wildcards.dataset}"
        " 2> {log}"
