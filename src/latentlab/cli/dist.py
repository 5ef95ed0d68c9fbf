"""Sub-commands of the dist group (filled in by its own issue)."""


def register(sub) -> None:
    """Add this group's sub-commands to the parser."""
