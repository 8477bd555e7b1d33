"""Measuring tools: timed loops, memory high-water marks and summary statistics."""
