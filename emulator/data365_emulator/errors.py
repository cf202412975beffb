"""The one exception the request handlers turn into an HTTP error response."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error with a JSON body ``{"message": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
