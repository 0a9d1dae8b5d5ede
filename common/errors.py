"""The one exception type that reaches the user as a one-line message (the CLI exits non-zero)."""


class OccreidError(Exception):
    """Bad input or a refused action: the message names the file and says how to fix it."""
