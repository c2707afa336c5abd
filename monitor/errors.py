"""The one exception type a user mistake turns into: the CLIs print it as one line."""


class UserError(Exception):
    """A problem the user can fix (bad path, bad file, bad option); the message says how."""
