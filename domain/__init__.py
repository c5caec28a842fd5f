"""The business of eventapi: entities, value objects, rules and domain events.

Imports the standard library only (enforced by import-linter and a test).
"""
