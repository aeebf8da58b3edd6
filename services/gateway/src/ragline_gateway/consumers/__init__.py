"""Message handlers of the gateway: job status events, dead-letter events and the queue drop.

Each one is registered on the broker by the component and settled by the broker adapter;
the decisions they apply live in ``domain/``."""
