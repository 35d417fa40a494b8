//! Port discovery: serial ports with their USB identity, read from sysfs on Linux
//! (`/sys/class/tty/*/device` up to the USB device's `idVendor`), marking the usual ESP bridges.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One serial port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortInfo {
    /// `/dev/ttyUSB0`.
    pub path: PathBuf,
    /// `usb`, `pci`, `platform`, ... (the bus it hangs off).
    pub bus: String,
    /// USB vendor and product id, 4 lower-case hex digits each.
    pub vid: Option<String>,
    pub pid: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial_number: Option<String>,
    /// Kernel driver (`cp210x`, `ch341`, `cdc_acm`, `ftdi_sio`).
    pub driver: Option<String>,
    /// The ESP-board USB bridge this VID:PID is (`CP210x`, `CH340`, `Espressif USB-JTAG`...).
    pub bridge: Option<String>,
    /// Whether this is probably an ESP board.
    pub likely_esp: bool,
}

/// The usual USB-serial bridges on ESP boards, by VID:PID.
pub fn esp_bridge(vid: u16, pid: u16) -> Option<&'static str> {
    Some(match (vid, pid) {
        (0x10c4, 0xea60) => "CP210x",
        (0x1a86, 0x7523) => "CH340",
        (0x1a86, 0x7522) => "CH340K",
        (0x1a86, 0x55d4) => "CH9102",
        (0x1a86, 0x55d3) => "CH343",
        (0x0403, 0x6001) => "FTDI FT232R",
        (0x0403, 0x6010) => "FTDI FT2232 (ESP-Prog)",
        (0x0403, 0x6014) => "FTDI FT232H",
        (0x0403, 0x6015) => "FTDI FT231X",
        (0x303a, 0x1001) => "Espressif USB-JTAG/serial",
        (0x303a, _) => "Espressif USB",
        _ => return None,
    })
}

/// The serial ports attached to this machine.
pub fn list_ports() -> Result<Vec<PortInfo>> {
    #[cfg(target_os = "linux")]
    {
        let class = Path::new("/sys/class/tty");
        if class.is_dir() {
            return Ok(scan_sysfs(class, Path::new("/dev")));
        }
    }
    let ports = serialport::available_ports().map_err(|e| Error::env("serial ports", e))?;
    Ok(ports
        .into_iter()
        .map(|p| {
            let mut info = PortInfo {
                path: PathBuf::from(&p.port_name),
                bus: "other".to_owned(),
                ..PortInfo::default()
            };
            if let serialport::SerialPortType::UsbPort(u) = p.port_type {
                info.bus = "usb".to_owned();
                info.vid = Some(format!("{:04x}", u.vid));
                info.pid = Some(format!("{:04x}", u.pid));
                info.manufacturer = u.manufacturer;
                info.product = u.product;
                info.serial_number = u.serial_number;
                info.bridge = esp_bridge(u.vid, u.pid).map(str::to_owned);
                info.likely_esp = info.bridge.is_some();
            }
            info
        })
        .collect())
}

/// Scan a sysfs `class/tty` directory. `dev` is where the device nodes live. Virtual terminals
/// (no `device` link) and the legacy 8250 placeholders are left out.
pub fn scan_sysfs(class_tty: &Path, dev: &Path) -> Vec<PortInfo> {
    let Ok(entries) = std::fs::read_dir(class_tty) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut ports = Vec::new();
    for name in names {
        let Ok(device) = std::fs::canonicalize(class_tty.join(&name).join("device")) else {
            continue;
        };
        let driver = link_name(&device.join("driver"));
        // The legacy 8250 placeholders (ttyS1..31 with no UART behind them) hang off the
        // `serial8250` platform device, in the old layout and the 6.x `serial-base` one alike.
        if driver.as_deref() == Some("serial8250")
            || device.components().any(|c| c.as_os_str() == "serial8250")
        {
            continue;
        }
        // 6.x kernels put a `serial-base` port device between the tty and the real bus.
        let bus = device
            .ancestors()
            .filter_map(|a| link_name(&a.join("subsystem")))
            .find(|s| s != "serial-base" && s != "tty")
            .unwrap_or_else(|| "other".to_owned());
        let mut info = PortInfo {
            path: dev.join(&name),
            driver,
            bus,
            ..PortInfo::default()
        };
        if let Some(usb) = device.ancestors().find(|a| a.join("idVendor").is_file()) {
            info.bus = "usb".to_owned();
            info.vid = read_attr(usb, "idVendor");
            info.pid = read_attr(usb, "idProduct");
            info.manufacturer = read_attr(usb, "manufacturer");
            info.product = read_attr(usb, "product");
            info.serial_number = read_attr(usb, "serial");
            let id =
                |s: &Option<String>| s.as_deref().and_then(|v| u16::from_str_radix(v, 16).ok());
            if let (Some(v), Some(p)) = (id(&info.vid), id(&info.pid)) {
                info.bridge = esp_bridge(v, p).map(str::to_owned);
            }
        }
        info.likely_esp = info.bridge.is_some();
        ports.push(info);
    }
    ports
}

fn link_name(path: &Path) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
}

fn read_attr(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use std::os::unix::fs::symlink;

    use super::*;

    /// Build a sysfs tree shaped like a real one: a CP2102 on ttyUSB0 (usb-serial), an ESP32-S3's
    /// own USB on ttyACM0 (cdc_acm), an 8250 placeholder and a virtual console.
    fn fake_sysfs(root: &Path) {
        let devices = root.join("devices/pci0000:00/0000:00:14.0/usb1");
        let class = root.join("class/tty");
        std::fs::create_dir_all(&class).unwrap();
        let drivers = root.join("bus/usb-serial/drivers");

        let cp = devices.join("1-2");
        let port_dir = cp.join("1-2:1.0/ttyUSB0");
        std::fs::create_dir_all(port_dir.join("tty/ttyUSB0")).unwrap();
        for (k, v) in [
            ("idVendor", "10c4\n"),
            ("idProduct", "ea60\n"),
            ("manufacturer", "Silicon Labs\n"),
            ("product", "CP2102 USB to UART Bridge Controller\n"),
            ("serial", "0001\n"),
        ] {
            std::fs::write(cp.join(k), v).unwrap();
        }
        std::fs::create_dir_all(drivers.join("cp210x")).unwrap();
        symlink(drivers.join("cp210x"), port_dir.join("driver")).unwrap();
        symlink("../../../ttyUSB0", port_dir.join("tty/ttyUSB0/device")).unwrap();
        symlink(port_dir.join("tty/ttyUSB0"), class.join("ttyUSB0")).unwrap();

        let s3 = devices.join("1-3");
        let iface = s3.join("1-3:1.0");
        std::fs::create_dir_all(iface.join("tty/ttyACM0")).unwrap();
        std::fs::write(s3.join("idVendor"), "303a\n").unwrap();
        std::fs::write(s3.join("idProduct"), "1001\n").unwrap();
        symlink("../../../1-3:1.0", iface.join("tty/ttyACM0/device")).unwrap();
        symlink(iface.join("tty/ttyACM0"), class.join("ttyACM0")).unwrap();

        let serial8250 = root.join("devices/platform/serial8250");
        std::fs::create_dir_all(serial8250.join("tty/ttyS0")).unwrap();
        std::fs::create_dir_all(root.join("bus/platform/drivers/serial8250")).unwrap();
        symlink(
            root.join("bus/platform/drivers/serial8250"),
            serial8250.join("driver"),
        )
        .unwrap();
        symlink("../../../serial8250", serial8250.join("tty/ttyS0/device")).unwrap();
        symlink(serial8250.join("tty/ttyS0"), class.join("ttyS0")).unwrap();

        std::fs::create_dir_all(root.join("devices/virtual/tty/tty0")).unwrap();
        symlink(root.join("devices/virtual/tty/tty0"), class.join("tty0")).unwrap();
    }

    #[test]
    fn usb_identity_from_sysfs_and_esp_bridges_marked() {
        let tmp = tempfile::tempdir().unwrap();
        fake_sysfs(tmp.path());
        let ports = scan_sysfs(&tmp.path().join("class/tty"), Path::new("/dev"));
        assert_eq!(ports.len(), 2, "{ports:#?}");
        let acm = &ports[0];
        assert_eq!(acm.path, PathBuf::from("/dev/ttyACM0"));
        assert_eq!(
            (acm.vid.as_deref(), acm.pid.as_deref()),
            (Some("303a"), Some("1001"))
        );
        assert_eq!(acm.bridge.as_deref(), Some("Espressif USB-JTAG/serial"));
        let usb = &ports[1];
        assert_eq!(usb.path, PathBuf::from("/dev/ttyUSB0"));
        assert_eq!(usb.bus, "usb");
        assert_eq!(usb.driver.as_deref(), Some("cp210x"));
        assert_eq!(usb.manufacturer.as_deref(), Some("Silicon Labs"));
        assert_eq!(usb.serial_number.as_deref(), Some("0001"));
        assert_eq!(usb.bridge.as_deref(), Some("CP210x"));
        assert!(usb.likely_esp && acm.likely_esp);
    }

    #[test]
    fn bridges() {
        assert_eq!(esp_bridge(0x1a86, 0x55d4), Some("CH9102"));
        assert_eq!(esp_bridge(0x303a, 0x4001), Some("Espressif USB"));
        assert_eq!(esp_bridge(0x0403, 0x6015), Some("FTDI FT231X"));
        assert_eq!(esp_bridge(0x046d, 0xc52b), None);
    }
}
