"""EspcheckStrategy: the states an ESP board in a farm is put in, and how.

- ``off``: powered off, through a PowerProtocol driver (a PDU, a switchable USB hub port) if one is
  bound. Without one there is nothing that can hold a board off: the transition says so.
- ``loader``: the ROM loader, through esptool's ClassicReset on DTR/RTS (powered on first).
- ``running``: the strategy's firmware flashed by ``espcheck flash-and-watch`` and graded to PASS;
  the run's EspcheckResult is kept in ``strategy.result``. With no firmware configured, the board
  is only reset into its app.
"""

import enum

import attr

from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy import Strategy, StrategyError, never_retry


class Status(enum.Enum):
    unknown = 0
    off = 1
    loader = 2
    running = 3


@target_factory.reg_driver
@attr.s(eq=False)
class EspcheckStrategy(Strategy):
    """Strategy for ESP8266/ESP32 boards driven by espcheck.

    Args:
        image (str): key of the environment's `images` to flash on the way to `running`
            (default: the EspcheckDriver's own `image`)
    """

    bindings = {
        "espcheck": "EspcheckDriver",
        "power": {"PowerProtocol", None},
    }

    image = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    status = attr.ib(default=Status.unknown)

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.result = None

    def _power_on(self):
        if self.power is not None:
            self.target.activate(self.power)
            self.power.on()

    @never_retry
    @step(args=["status"])
    def transition(self, status, *, step):  # pylint: disable=redefined-outer-name
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status and status != Status.running:
            step.skip("nothing to do")
            return
        if status == Status.off:
            if self.power is None:
                raise StrategyError(
                    "off needs a PowerProtocol driver bound to the target (a PDU or a switchable "
                    "USB hub port): DTR/RTS cannot hold a board off once the port is closed"
                )
            self.target.activate(self.power)
            self.power.off()
        elif status == Status.loader:
            self._power_on()
            self.target.activate(self.espcheck)
            self.espcheck.reset(into="loader")
        elif status == Status.running:
            self._power_on()
            self.target.activate(self.espcheck)
            firmware = None
            if self.image is not None:
                firmware = self.target.env.config.get_image_path(self.image)
            elif self.espcheck.image is None:
                self.espcheck.reset(into="app")
                self.status = status
                return
            self.result = self.espcheck.flash_and_watch(firmware)
            if not self.result.passed:
                self.status = Status.unknown
                raise StrategyError(f"flash-and-watch: {self.result.summary}")
        self.status = status
