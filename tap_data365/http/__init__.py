"""Talking HTTP safely: the retry policy, bounded answers, secrets masked in output."""
