"""One module per CLI verb; each has `main(args) -> int`, the exit code."""
