"""Orchestration between commands and the cluster adapter: gathers facts, applies changes."""
