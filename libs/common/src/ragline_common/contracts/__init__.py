"""Typed contracts between the gateway and the internal services.

The same models travel in-process (monolithic mode) and as JSON over HTTP (microservices mode),
so both transports are held to one schema.
"""
