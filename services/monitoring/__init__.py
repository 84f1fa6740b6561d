"""Ceasefire monitoring: reports in, correlated incidents out, breach cases opened once."""
