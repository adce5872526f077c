"""Readers and writers of the file formats orbat exchanges, one module a format."""
