"""Awareness Leaderboard pipelines: files -> warehouse -> scores -> published snapshot."""
