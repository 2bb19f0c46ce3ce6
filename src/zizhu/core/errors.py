"""Domain errors. Messages are for the person at the screen: Chinese, saying what to do next.

They are mapped to HTTP in one place (`middleware.DomainErrorMiddleware`).
"""


class DomainError(Exception):
    """A rule refused the operation. HTTP 400 unless a subclass says otherwise."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTransition(DomainError):
    status = 409


class Conflict(DomainError):
    """Someone else changed the object first (compare-and-set lost)."""

    status = 409


class NotPermitted(DomainError):
    """The actor's roles do not grant the action. Audited as a denied attempt."""

    status = 403


class NotCertified(NotPermitted):
    """持证上岗: an uncertified or expired officer may not review, approve or verify."""


class OutOfReach(DomainError):
    """The object exists but is outside the actor's reach; shown as 404 like a missing one."""

    status = 404

    def __init__(self, message: str = "找不到该记录，或您无权查看。") -> None:
        super().__init__(message)


class ImportRejected(DomainError):
    """An import had bad rows; nothing was written. `report` lists them."""

    def __init__(self, message: str, report: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.report = report or []


class CalendarYearMissing(DomainError):
    """A working-day question about a year whose holiday schedule is not complete."""


class InvalidIdNumber(DomainError):
    pass
