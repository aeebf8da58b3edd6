"""Public HTTP API of the gateway (``/v1``): thin routes and their DTOs."""
