"""The Special Commission's case service: BreachCase lifecycle, positions, remedies."""
