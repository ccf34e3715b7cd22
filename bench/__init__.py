"""Benchmark tooling: the journey generator and the recall benchmark; product code never
imports it."""
