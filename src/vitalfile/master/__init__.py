"""The master file: projections of who is alive or dead, and the same as of any time."""
