"""Exercise specs, one module per track (docs/design.md §5)."""
