"""The gateway: the desks' HTTP and WebSocket API, and the system's only edge."""
