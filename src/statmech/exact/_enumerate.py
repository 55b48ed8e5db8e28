"""Exact enumeration of all 2^N states (placeholder: being written)."""
