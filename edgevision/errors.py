"""Exceptions the CLI turns into exit codes (DESIGN.md: 0 ok, 2 bad input, 1 internal error)."""


class UserError(Exception):
    """Bad input from the user. The message is one line naming the file and the fix; exit code 2."""

    exit_code = 2


class MissingPackage(UserError):
    """A package this machine lacks (`module` names it); the CLI replaces the message with the install
    command for this platform (`edgevision doctor`'s advice)."""

    def __init__(self, module: str, message: str):
        super().__init__(message)
        self.module = module


class CheckFailed(Exception):
    """The work ran but a quality check failed (e.g. export parity); files are kept; exit code 3."""

    exit_code = 3
