"""Benchmarks: the consent decision in-process, the same policies in Cedar (cedarpy), and the
gateway with and without its decision cache. Run with `python -m bench`; timings never go in
tests (the project's rule for timing), and every result is read against a baseline measured
in the same run."""
