"""The `auditor` command line (typer): the top layer, which may import every other."""
