"""The shared library: what every process of the stack may import (the gateway, the staff
application, the action server, the hall, the tools). It imports no server code and no other
package of the project (ARCHITECTURE.md): settings and `env()`, the clock, identity and
masking, logs, the hall client, the Redis stores with their key layouts, the enqueue side of
the filing and notification streams, the reply model and the wording several processes share."""
