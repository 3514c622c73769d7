"""Benchmarks: standalone scripts, each printing one JSON line (see benchmarks/README.md)."""
