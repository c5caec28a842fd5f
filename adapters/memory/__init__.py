"""In-memory adapters for every port: first-class fakes for tests and demos.

They keep the same contracts as the SQL adapters (checked by tests/contract).
"""
