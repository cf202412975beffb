"""The search_results stream's machinery: reading posts window by window, checkpoints."""
