"""Web services a flow calls (the `http` action): the one place that makes those requests."""
