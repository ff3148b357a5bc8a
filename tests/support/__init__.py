"""What the tests and benchmarks need to start real services; never installed with the product."""
