"""Stored results: the schema and store, the run lock, merge into a history, export, safe file writes."""
