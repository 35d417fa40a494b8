"""EspcheckDriver: run `espcheck flash-and-watch` (or `watch`) against the serial port a labgrid
place exports, and hand back espcheck's JSON verdict and JUnit report.

The driver binds to a NetworkSerialPort (what an exporter publishes for a USBSerialPort or
RawSerialPort: ser2net speaking RFC 2217) or, on the machine with the board, a RawSerialPort.
espcheck opens `rfc2217://HOST:PORT` itself; nothing of the port is held open by labgrid while it
runs, so do not bind a SerialDriver to the same port at the same time.
"""

import json
import os
import shlex
import subprocess
import tempfile
import time

import attr

from labgrid.driver.common import Driver
from labgrid.driver.exception import ExecutionError
from labgrid.factory import target_factory
from labgrid.resource import NetworkSerialPort
from labgrid.step import step
from labgrid.util.proxy import proxymanager

#: espcheck's exit codes (docs/FARM.md has what each means for a farm).
OUTCOMES = {
    0: "pass",
    1: "fail",
    2: "usage",
    3: "timeout",
    4: "environment",
    5: "fault",
    130: "interrupted",
}


class EspcheckError(RuntimeError):
    """espcheck could not do its job: a usage error (exit 2) or the port, the network or flashing
    failed on the host side (exit 4). The farm's problem, not the firmware's."""


class BoardFailed(AssertionError):
    """The board ran and the verdict is no: it said so (exit 1), said nothing in time (exit 3), or
    faulted (exit 5). The firmware's problem: a test failure."""


@attr.s(eq=False, frozen=True)
class EspcheckResult:
    """What one espcheck run gave."""

    command = attr.ib()
    exit_code = attr.ib()
    #: The `--json` report (verdict, stage, reason, ...), or None when espcheck ended before one.
    verdict = attr.ib()
    #: Paths of the JUnit XML and JSON reports (None when espcheck wrote none).
    junit = attr.ib()
    json = attr.ib()
    stdout = attr.ib(repr=False)
    stderr = attr.ib(repr=False)

    @property
    def outcome(self):
        return OUTCOMES.get(self.exit_code, f"exit {self.exit_code}")

    @property
    def passed(self):
        return self.exit_code == 0

    @property
    def summary(self):
        """One line: the outcome and espcheck's reason (or its error line)."""
        if self.verdict is not None:
            return f"{self.outcome}: {self.verdict.get('reason') or self.verdict.get('verdict')}"
        lines = [l for l in self.stderr.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("error:")]
        line = (errors or lines or ["no output"])[0]
        return f"{self.outcome}: {line}"

    def raise_for_outcome(self):
        """Raise BoardFailed for a verdict against the firmware, EspcheckError for the farm's
        own trouble; return self on PASS."""
        if self.exit_code == 0:
            return self
        if self.exit_code in (1, 3, 5):
            raise BoardFailed(self.summary)
        raise EspcheckError(self.summary)


@target_factory.reg_driver
@attr.s(eq=False)
class EspcheckDriver(Driver):
    """Flash, watch and grade an ESP8266/ESP32 board with espcheck.

    Args:
        espcheck (str): the espcheck binary (default: $ESPCHECK, else `espcheck` on PATH)
        url_options (str): pyserial URL options for the rfc2217:// port; labgrid's own SerialDriver
            uses `ign_set_control`, and so does this default
        args (list): extra `flash-and-watch` arguments, e.g. ["--after", "soft-reset"]; the
            words of $LG_ESPCHECK_ARGS follow them (per-job extras without editing the env file)
        watch_args (list): extra `watch` arguments (and $LG_ESPCHECK_ARGS)
        image (str): key of the environment's `images` flashed when no firmware is given
        report_dir (str): where the JUnit and JSON reports go (default: $LG_REPORT_DIR, else a
            fresh temp directory)
        timeout (float): seconds before the espcheck process is killed (its own --timeout should
            end it first)
    """

    bindings = {"port": {"NetworkSerialPort", "RawSerialPort"}}

    espcheck = attr.ib(
        default=None, validator=attr.validators.optional(attr.validators.instance_of(str))
    )
    url_options = attr.ib(default="ign_set_control", validator=attr.validators.instance_of(str))
    args = attr.ib(default=attr.Factory(list), validator=attr.validators.instance_of(list))
    watch_args = attr.ib(default=attr.Factory(list), validator=attr.validators.instance_of(list))
    image = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    report_dir = attr.ib(
        default=None, validator=attr.validators.optional(attr.validators.instance_of(str))
    )
    timeout = attr.ib(default=300.0, validator=attr.validators.instance_of((int, float)))

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self._runs = 0

    def on_activate(self):
        pass

    def on_deactivate(self):
        pass

    @property
    def binary(self):
        return self.espcheck or os.environ.get("ESPCHECK") or "espcheck"

    @Driver.check_active
    def port_name(self):
        """What espcheck is given as PORT: `rfc2217://HOST:PORT[?options]`, or the local path."""
        if not isinstance(self.port, NetworkSerialPort):
            return self.port.port
        if self.port.protocol != "rfc2217":
            raise ExecutionError(
                f"{self.port.name or 'the port'} is exported as '{self.port.protocol}': espcheck "
                "needs RFC 2217 (the exporter's default for USBSerialPort and RawSerialPort)"
            )
        host, port = proxymanager.get_host_and_port(self.port)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        url = f"rfc2217://{host}:{port}"
        return f"{url}?{self.url_options}" if self.url_options else url

    def _reports(self, name):
        base = (
            self.report_dir
            or os.environ.get("LG_REPORT_DIR")
            or tempfile.mkdtemp(prefix="espcheck-")
        )
        os.makedirs(base, exist_ok=True)
        # Never overwrite an earlier run's reports (another job, or another pytest session).
        while True:
            self._runs += 1
            stem = os.path.join(base, f"{name}-{self._runs}")
            if not any(os.path.exists(stem + ext) for ext in (".xml", ".json")):
                return f"{stem}.xml", f"{stem}.json"

    def _run(self, argv, name):
        junit, json_path = self._reports(name)
        argv = argv + shlex.split(os.environ.get("LG_ESPCHECK_ARGS", ""))
        cmd = [self.binary] + argv + ["--json", "--junit", junit]
        self.logger.debug("running %s", " ".join(cmd))
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except FileNotFoundError as e:
            raise EspcheckError(f"{self.binary}: not found (set ESPCHECK or the driver's espcheck)") from e
        except subprocess.TimeoutExpired as e:
            raise EspcheckError(
                f"espcheck still running after {self.timeout:g} s: killed (raise the driver's "
                "timeout, or lower espcheck's --timeout)"
            ) from e
        verdict = None
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("{"):
                try:
                    verdict = json.loads(line)
                except ValueError:
                    pass
                break
        if verdict is not None:
            tmp = json_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(verdict, f, indent=2)
            os.replace(tmp, json_path)
        result = EspcheckResult(
            command=cmd,
            exit_code=proc.returncode,
            verdict=verdict,
            junit=junit if os.path.exists(junit) else None,
            json=json_path if verdict is not None else None,
            stdout=proc.stdout,
            stderr=proc.stderr,
        )
        self.logger.info("%s: %s", name, result.summary)
        return result

    @Driver.check_active
    @step(args=["firmware"], result=True)
    def flash_and_watch(self, firmware=None, extra_args=()):
        """Flash `firmware` (a path, `ADDR=PATH`, or a list of them; default: the driver's
        `image`, else the build espcheck finds in the current directory), restart the board and
        grade what it prints. Returns an EspcheckResult; call raise_for_outcome() to turn it
        into a test result."""
        if firmware is None and self.image is not None:
            firmware = self.target.env.config.get_image_path(self.image)
        if isinstance(firmware, str):
            firmware = [firmware]
        argv = ["flash-and-watch", self.port_name()]
        for f in firmware or []:
            argv += ["--firmware", str(f)]
        return self._run(argv + list(self.args) + list(extra_args), "flash-and-watch")

    @Driver.check_active
    @step(result=True)
    def watch(self, extra_args=()):
        """Grade what the board prints now, without flashing or resetting it."""
        argv = ["watch", self.port_name()] + list(self.watch_args) + list(extra_args)
        return self._run(argv, "watch")

    @Driver.check_active
    @step(args=["into"])
    def reset(self, into="app"):
        """Reset the board through DTR/RTS, with esptool's sequences: `app` pulses EN (HardReset),
        `loader` holds GPIO0 low as EN rises (ClassicReset), leaving the ROM loader waiting."""
        import serial  # pyserial comes with labgrid

        if into not in ("app", "loader"):
            raise ValueError(f"reset into 'app' or 'loader', not {into!r}")
        port = serial.serial_for_url(self.port_name(), baudrate=115200, do_not_open=True)
        port.dtr = False
        port.rts = False
        port.open()
        try:
            if into == "loader":
                port.dtr = False
                port.rts = True
                time.sleep(0.1)
                port.dtr = True
                port.rts = False
                time.sleep(0.05)
                port.dtr = False
            else:
                port.rts = True
                time.sleep(0.1)
                port.rts = False
        finally:
            port.close()
