"""Benchmarks of the production profile (issue 13): `make bench`, results in bench/README.md."""
