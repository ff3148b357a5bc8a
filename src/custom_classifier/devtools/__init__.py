"""Tools for running the production topology outside Docker (tests and benchmarks)."""
