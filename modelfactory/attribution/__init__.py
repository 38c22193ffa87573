"""Proof of attribution: which models, datanets, contributors and training rows produced each answer.

The methods themselves are Django-free (`inference.attribution`: gradient sketches and span
matching; `combination.py` here: how their evidence becomes weights); this app stores the indexes
they need, runs them off the request path and writes the outcome into the answer's receipt.
"""
