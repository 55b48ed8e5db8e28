"""Transfer matrices (placeholder: being written)."""
