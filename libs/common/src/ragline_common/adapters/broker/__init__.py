"""Broker adapters: in-process (:mod:`.memory`) and RabbitMQ (:mod:`.rabbitmq`).

Both settle a consumed message through the single policy in :mod:`.settlement`, so "what happens
when a handler raises X" cannot drift between the embedded and the distributed deployment. The
RabbitMQ module is not imported here: ``aio-pika`` is an optional extra of ``ragline-common``.
Each adapter's module holds its broker class; the parts it is made of sit beside it
(``memory_queue``; ``rabbitmq_link``, ``rabbitmq_topology``, ``rabbitmq_dead_letters``,
``rabbitmq_settlement``).
"""
