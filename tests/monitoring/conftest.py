"""The monitoring integration tests import their helpers from this directory."""
