"""The outside world: provider webhooks, outbound sending, websockets, the simulator."""
