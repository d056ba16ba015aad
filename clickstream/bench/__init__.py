"""Benchmarks: each module exposes ``run(ctx) -> dict``; ``python -m clickstream.bench`` runs them."""
