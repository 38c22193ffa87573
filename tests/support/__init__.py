"""Test harness pieces: real services, real processes, a real browser."""
