"""labgrid integration for espcheck: importing this package registers EspcheckDriver and
EspcheckStrategy with labgrid's target factory (list it under `imports:` in an environment file;
installed, it is also loaded as a pytest plugin)."""

from .driver import BoardFailed, EspcheckDriver, EspcheckError, EspcheckResult, OUTCOMES
from .strategy import EspcheckStrategy, Status

__all__ = [
    "BoardFailed",
    "EspcheckDriver",
    "EspcheckError",
    "EspcheckResult",
    "EspcheckStrategy",
    "OUTCOMES",
    "Status",
]
