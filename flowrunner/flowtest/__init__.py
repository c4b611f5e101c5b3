"""Flow tests: `NAME.test.yaml` cases run on a simulated call, on virtual time."""
