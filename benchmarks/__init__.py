"""trilink benchmarks: `python -m benchmarks [NAME ...]` (or `make bench`)."""
