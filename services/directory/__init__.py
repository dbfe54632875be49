"""The public directory of certificates as pages for people (ISO/IEC 17065 7.8; ADR 0012)."""

from services.directory.pages import directory_router

__all__ = ["directory_router"]
