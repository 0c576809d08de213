"""A small application whose developer ran it before building: its bytecode caches sit beside the sources."""
