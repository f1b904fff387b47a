"""The one exception type users see: a message that names the culprit and the fix."""


class OptcheckError(Exception):
    """A problem with the user's input or machine, explained in plain words.

    The plugin and the command line print only the message, never a traceback,
    so every message must say what is wrong, where, and how to fix it.
    """


class SuiteSetupError(OptcheckError):
    """A problem that stops every run of a suite (its loss, its metrics): said once, then referred to."""


def in_user_code(exc: BaseException, limit: int = 8) -> str:
    """Where `exc` was raised in the user's own code: their frames only, most recent last.

    Frames of the harness, of installed packages and of the standard library are left
    out: a user whose optimizer or loader raised wants their own lines, not Keras's.
    Empty when no frame is theirs (the error was in a library, and its message says it).
    """
    import sysconfig
    import traceback
    from pathlib import Path

    skipped = [Path(__file__).resolve().parent, Path(sysconfig.get_paths()["stdlib"]).resolve()]
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        parts = set(path.parts)
        if "site-packages" in parts or "dist-packages" in parts or any(path.is_relative_to(s) for s in skipped):
            continue
        frames.append(f"  {frame.filename}:{frame.lineno}, in {frame.name}" + (f"\n    {frame.line}" if frame.line else ""))
    return "\n".join(frames[-limit:])


def with_user_frames(message: str, exc: BaseException) -> str:
    """`message`, followed by the user's own frames where there are any."""
    frames = in_user_code(exc)
    return f"{message}\n{frames}" if frames else message
