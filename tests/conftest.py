"""Shared fixtures live in plugin modules, one per concern."""

pytest_plugins = ["tests.fixtures_moto", "tests.fixtures_state", "tests.fixtures_api"]
