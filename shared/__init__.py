"""Code that every Hallmark service shares: domain base types, the event seam, views and HTTP."""
