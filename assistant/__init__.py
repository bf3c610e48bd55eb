"""The gateway: channel routing, sessions and the path from a channel to the dialogue engine."""
