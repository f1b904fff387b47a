"""The one exception type users see: a message that names the culprit and the fix."""


class OptcheckError(Exception):
    """A problem with the user's input or machine, explained in plain words.

    The plugin and the command line print only the message, never a traceback,
    so every message must say what is wrong, where, and how to fix it.
    """
