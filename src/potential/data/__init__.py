"""Input data: the table contracts, validation and atomic file I/O (the bottom layer above config)."""
