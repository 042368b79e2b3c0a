"""Recording: the only place server bytes enter.

One seam per transport (``http`` for plain HTTP and SSE, ``websocket`` for WebSocket mode, ``sdk`` for the
official SDK), each producing ``exchange.Exchange`` records that are bounded (time, size, nesting,
decompression) and scrubbed of secrets (``_redact``) before anything else sees them. The engine reaches all
three through one interface, ``transport.Transport`` (a step's ``transport:`` names it); every exchange
records which one carried it (``Exchange.transport``).
"""
