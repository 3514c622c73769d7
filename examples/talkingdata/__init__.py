"""Feature SQL examples: TalkingData clicks, their features, and a workflow that serves them."""
