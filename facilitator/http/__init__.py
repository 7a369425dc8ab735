"""The HTTP edge: pages, the JSON API, the WebSocket, and what guards them."""
