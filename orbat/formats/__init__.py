"""Readers and writers of the formats orbat reads or writes, one module a format."""
