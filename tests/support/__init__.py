"""What several test tiers share: the small world, meetings to walk, a live server."""
