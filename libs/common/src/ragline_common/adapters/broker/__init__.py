"""Broker adapters: in-process (:mod:`.memory`) and RabbitMQ (:mod:`.rabbitmq`).

Both settle a consumed message through the single policy in :mod:`.settlement`, so "what happens
when a handler raises X" cannot drift between the embedded and the distributed deployment. The
RabbitMQ module is not imported here: ``aio-pika`` is an optional extra of ``ragline-common``.
"""
