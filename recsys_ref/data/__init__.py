"""Data: seeded synthetic generators (the embedded default) and real-format loaders."""
