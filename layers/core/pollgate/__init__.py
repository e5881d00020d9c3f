"""pollgate core: the logic and data access behind every pollgate function (the shared Lambda layer)."""
