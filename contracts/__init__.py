"""Solidity contracts, their compiled artifacts, and the only Python code that talks to the chain."""
