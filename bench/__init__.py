"""Benchmarks: each module's ``run()`` returns a dict of figures printed as JSON."""
