"""One module per group of scenarios; each returns ``bench.results.Scenario`` entries."""
