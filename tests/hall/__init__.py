"""Fixtures and helpers of the hall tests (tests/unit/test_hall_*.py), loaded with
`pytest_plugins = ["tests.hall.plugin"]`."""
