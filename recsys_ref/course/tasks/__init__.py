"""Exercise specs, one module per track (COURSE.md §5)."""
