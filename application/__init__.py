"""Use cases and the ports they reach the world through. Imports domain and stdlib only."""
