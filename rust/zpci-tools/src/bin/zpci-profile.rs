//! zpci-profile: looks at zPCI host profiles and runs the round-trip
//! comparison of `tests/guest/run-roundtrip-test`.
//!
//! ```text
//! zpci-profile show FILE...
//!     the profile's metadata and capabilities, and the answers QEMU gives
//!     an emulated function that replays it (host-profile=FILE)
//! zpci-profile split FILE DIR
//!     writes DIR/device-info.bin and, when present, DIR/iommu-info.bin
//!     and DIR/origin.txt
//! zpci-profile roundtrip --guest-memory BYTES [--report FILE] FUNCTION...
//!     FUNCTION is ADDRESS,fid=N,uid=N,captured=FILE[,profile=FILE], in the
//!     order QEMU plugged them: what QEMU presented (its defaults, or the
//!     replayed profile) against what the guest captured, one line per
//!     check ("ok   ..." or "FAIL ..."); with --report, also the guest's
//!     sysfs values (the "pci ADDRESS ATTRIBUTE VALUE" lines)
//! ```
//! Exit status 1 when a check failed or an input could not be used.

use std::path::Path;
use std::process::ExitCode;

use zpci_core::vfio::caps::{parse_device_info, parse_iommu_info};
use zpci_core::vfio::host::{FunctionRequest, HostBridge};
use zpci_core::vfio::profile::HostProfile;
use zpci_tools::roundtrip::{sysfs_checks, GuestKernel, Presented, RoundTrip};

fn load(path: &str) -> Result<HostProfile, String> {
    HostProfile::load(Path::new(path)).map_err(|e| e.to_string())
}

fn replay_request(fid: u32, uid: u16) -> FunctionRequest {
    // An emulated function: intercepted, no relaxed translation.
    FunctionRequest {
        fid,
        uid,
        interpreted: false,
        relaxed_translation: false,
    }
}

fn show(paths: &[String]) -> Result<bool, String> {
    let mut bridge = HostBridge::new();
    for path in paths {
        let p = load(path)?;
        println!("{path}:\n{p}");
        let dev = parse_device_info(&p.device_info, p.endian).map_err(|e| e.to_string())?;
        println!("device capabilities: {dev:#?}");
        if let Some(i) = &p.iommu_info {
            let i = parse_iommu_info(i, p.endian).map_err(|e| e.to_string())?;
            println!("IOMMU capabilities: {i:#?}");
        }
        let plugged = bridge.plug_replay(&p, path, &replay_request(0, 0));
        println!("replayed on an emulated function: {plugged:#?}");
    }
    Ok(true)
}

fn split(path: &str, dir: &str) -> Result<bool, String> {
    let p = load(path)?;
    let dir = Path::new(dir);
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))
    };
    write("device-info.bin", &p.device_info)?;
    if let Some(i) = &p.iommu_info {
        write("iommu-info.bin", i)?;
    }
    if let Some(o) = &p.origin {
        write("origin.txt", o.as_bytes())?;
    }
    Ok(true)
}

/// One FUNCTION argument.
struct Function {
    address: String,
    fid: u32,
    uid: u16,
    captured: String,
    profile: Option<String>,
}

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_function(arg: &str) -> Result<Function, String> {
    let bad =
        || format!("bad FUNCTION '{arg}' (want ADDRESS,fid=N,uid=N,captured=FILE[,profile=FILE])");
    let mut parts = arg.split(',');
    let address = parts.next().filter(|a| !a.is_empty()).ok_or_else(bad)?;
    let (mut fid, mut uid, mut captured, mut profile) = (None, None, None, None);
    for kv in parts {
        let (k, v) = kv.split_once('=').ok_or_else(bad)?;
        match k {
            "fid" => fid = number(v).and_then(|n| u32::try_from(n).ok()),
            "uid" => uid = number(v).and_then(|n| u16::try_from(n).ok()),
            "captured" => captured = Some(v.to_owned()),
            "profile" => profile = Some(v.to_owned()),
            _ => return Err(bad()),
        }
    }
    Ok(Function {
        address: address.to_owned(),
        fid: fid.ok_or_else(bad)?,
        uid: uid.ok_or_else(bad)?,
        captured: captured.ok_or_else(bad)?,
        profile,
    })
}

/// The "pci ADDRESS ATTRIBUTE VALUE" lines of a guest report.
fn sysfs_lines(report: &str, address: &str) -> Vec<(String, String)> {
    report
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next(), w.next(), w.next()) {
                (Some("pci"), Some(a), Some(attr), Some(v), None) if a == address => {
                    Some((attr.to_owned(), v.to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

fn roundtrip(args: &[String]) -> Result<bool, String> {
    let mut memory = None;
    let mut report = None;
    let mut functions = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--guest-memory" => memory = it.next().and_then(|v| number(v)),
            "--report" => report = it.next().cloned(),
            f => functions.push(parse_function(f)?),
        }
    }
    let guest = GuestKernel {
        iommu_aperture: memory.ok_or("--guest-memory BYTES is required")?,
    };
    let report = match report {
        Some(r) => Some(std::fs::read_to_string(&r).map_err(|e| format!("cannot read {r}: {e}"))?),
        None => None,
    };
    let mut bridge = HostBridge::new();
    let mut rt = RoundTrip::new();
    let mut all_ok = true;
    for f in &functions {
        let presented = match &f.profile {
            None => Presented::default_function(f.fid, f.uid),
            Some(path) => {
                let p = load(path)?;
                let plugged = bridge.plug_replay(&p, path, &replay_request(f.fid, f.uid));
                for w in &plugged.warnings {
                    println!("note {} presenting: {w}", f.address);
                }
                Presented::from_host(&plugged)
            }
        };
        let captured = load(&f.captured)?;
        let mut checks = rt.function(&f.address, &presented, &captured, &guest)?;
        if let Some(r) = &report {
            checks.extend(sysfs_checks(
                &f.address,
                &presented,
                &sysfs_lines(r, &f.address),
            ));
        }
        for c in &checks {
            println!("{c}");
            all_ok &= c.ok();
        }
    }
    Ok(all_ok)
}

fn run(args: &[String]) -> Result<bool, String> {
    match args {
        [cmd, files @ ..] if cmd == "show" && !files.is_empty() => show(files),
        [cmd, file, dir] if cmd == "split" => split(file, dir),
        [cmd, rest @ ..] if cmd == "roundtrip" => roundtrip(rest),
        _ => Err(
            "usage: zpci-profile show FILE... | split FILE DIR | roundtrip --guest-memory BYTES \
             [--report FILE] FUNCTION..."
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("zpci-profile: {e}");
            ExitCode::FAILURE
        }
    }
}
