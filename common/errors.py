"""The one exception type that reaches the user as a one-line message (the CLI exits non-zero)."""


class OccreidError(Exception):
    """Bad input or a refused action: the message names the file and says how to fix it."""


WRAPPED = "occreid.common.errors.OccreidError: "


def user_message(err: OccreidError) -> str:
    """The line the user sees. An OccreidError raised in a worker process (a DataLoader worker)
    reaches the main process re-made from its traceback text (torch's ExceptionWrapper): the
    original message is the traceback's last line; a message made here is itself."""
    lines = str(err).rstrip().splitlines()
    if len(lines) > 1 and lines[-1].startswith(WRAPPED):
        return lines[-1].removeprefix(WRAPPED)
    return str(err)
