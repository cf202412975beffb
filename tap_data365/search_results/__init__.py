"""The search_results sync of one sub-source, window by window with exact checkpoints.

Used from outside through two modules only: ``sync`` (``SubSourceSync``, the entry point, and
``REPLICATION_KEY``) and ``state_check`` (the ``--state`` file checked before a sync starts).
"""
