"""The live room: one WebSocket per screen, events fanned out per meeting."""
