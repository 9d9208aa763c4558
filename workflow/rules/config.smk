localrules:
    resolved_config,


rule resolved_config:
    # The validated config with every default filled: what every CLI call reads.
    output:
        RESOLVED_CONFIG,
    params:
        config=json.dumps(config, sort_keys=True),
    log:
        "results/logs/resolved_config.log",
    run:
        import yaml

        from hepdl.core.atomic import write_text_atomic

        write_text_atomic(output[0], yaml.safe_dump(json.loads(params.config), sort_keys=True))
