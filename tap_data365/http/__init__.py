"""The one transport of the tap and setup: session, retry policy, error mapping, bounded
answers, rate limiter, HTTP metrics (transport.py ties them together)."""
