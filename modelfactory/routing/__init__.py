"""Serving across web replicas: HAProxy in front, each request for a model sent to the replica that has it.

Django-free: the config generator, the local multi-replica runner and the affinity benchmark only start
processes and speak HTTP.
"""
