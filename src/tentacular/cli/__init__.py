"""The `tntc` command line: thin commands over the spec, engine, testing and deploy layers."""
