"""The ``tap-data365 setup`` command: declared collection tasks → a plan → the API."""
