"""WebSockets: the upgrade proxy, the channel fan-out endpoint (/ws/{client_id}), and publishing."""
