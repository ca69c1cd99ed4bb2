//! zpci-caps: the zPCI capabilities a host's VFIO driver reports for one
//! function, and the CLP answers a guest receives for it.
//!
//! ```text
//! zpci-caps [OPTIONS] FILE...
//!     host profiles (*.zpcihost), each replayed on an emulated function
//!     as QEMU does with -device zpci,...,host-profile=FILE
//! zpci-caps [OPTIONS] --device-info FILE [--iommu-info FILE] [--byte-order big|little]
//!     the raw VFIO_DEVICE_GET_INFO (and VFIO_IOMMU_GET_INFO) answers, as
//!     a vfio-pci function; byte order big (an s390x host's) unless told
//! zpci-caps [OPTIONS] --live ADDRESS
//!     the function at ADDRESS (0005:00:00.0) on this host, bound to
//!     vfio-pci, as a vfio-pci function
//!
//! OPTIONS: --json        JSON instead of text
//!          --fid N       the function id the function is plugged with (0)
//!          --uid N       its user-defined id (0)
//! and, for a vfio-pci function only (an emulated function replaying a
//! profile is always intercepted, without relaxed translation):
//!          --interpreted                 the function runs interpreted
//!                                        (QEMU's choice when KVM offers
//!                                        zPCI interpretation); else
//!                                        intercepted
//!          --relaxed-translation on|off  the zpci device's property (on,
//!                                        QEMU 10.0's default)
//! ```
//! Exit status: 0 when every input was inspected, 1 when one could not be
//! used (nothing is printed then, and stderr says which and why), 2 for a
//! usage error.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use zpci_core::vfio::caps::Endian;
use zpci_core::vfio::host::FunctionRequest;
use zpci_core::vfio::profile::HostProfile;
use zpci_tools::inspect::{self, Capture, Report};
use zpci_tools::live;

const USAGE: &str = "usage: zpci-caps [--json] [--fid N] [--uid N] FILE...
       zpci-caps [--json] [--fid N] [--uid N] [VFIO-OPTIONS] --device-info FILE \
[--iommu-info FILE] [--byte-order big|little]
       zpci-caps [--json] [--fid N] [--uid N] [VFIO-OPTIONS] --live ADDRESS
FILE is a zPCI host profile (*.zpcihost); ADDRESS a PCI address (0005:00:00.0);
VFIO-OPTIONS: --interpreted, --relaxed-translation on|off (default on)";

/// What to inspect.
enum Inputs {
    Profiles(Vec<PathBuf>),
    Raw {
        device: PathBuf,
        iommu: Option<PathBuf>,
        endian: Endian,
    },
    Live(String),
}

struct Options {
    json: bool,
    request: FunctionRequest,
    inputs: Inputs,
}

enum Parsed {
    Run(Options),
    Help,
}

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_args(args: Vec<OsString>) -> Result<Parsed, String> {
    let mut json = false;
    let (mut fid, mut uid) = (0u32, 0u16);
    let (mut interpreted, mut relaxed) = (false, None);
    let mut files = Vec::new();
    let (mut device, mut iommu, mut order, mut address) = (None, None, None, None);
    let mut it = args.into_iter();
    let text = |a: OsString| {
        a.into_string()
            .map_err(|a| format!("argument {} is not UTF-8", a.to_string_lossy()))
    };
    let mut only_files = false;
    while let Some(arg) = it.next() {
        if only_files {
            files.push(PathBuf::from(arg));
            continue;
        }
        let Some(opt) = arg
            .to_str()
            .filter(|a| a.starts_with('-'))
            .map(str::to_owned)
        else {
            files.push(PathBuf::from(arg));
            continue;
        };
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match opt.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => json = true,
            "--" => only_files = true,
            "--fid" => {
                let v = text(value("--fid")?)?;
                fid = number(&v)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("--fid {v}: not a 32-bit number"))?;
            }
            "--uid" => {
                let v = text(value("--uid")?)?;
                uid = number(&v)
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| format!("--uid {v}: not a 16-bit number"))?;
            }
            "--interpreted" => interpreted = true,
            "--relaxed-translation" => {
                relaxed = Some(match text(value("--relaxed-translation")?)?.as_str() {
                    "on" => true,
                    "off" => false,
                    o => return Err(format!("--relaxed-translation {o}: not on or off")),
                });
            }
            "--device-info" => device = Some(PathBuf::from(value("--device-info")?)),
            "--iommu-info" => iommu = Some(PathBuf::from(value("--iommu-info")?)),
            "--byte-order" => {
                order = Some(match text(value("--byte-order")?)?.as_str() {
                    "big" => Endian::Big,
                    "little" => Endian::Little,
                    o => return Err(format!("--byte-order {o}: not big or little")),
                });
            }
            "--live" => address = Some(text(value("--live")?)?),
            o => return Err(format!("unknown option {o}")),
        }
    }
    let raw_only = iommu.is_some() || order.is_some();
    let vfio_only = interpreted || relaxed.is_some();
    let inputs = match (files.is_empty(), device, address) {
        (false, None, None) if vfio_only => {
            return Err(
                "--interpreted and --relaxed-translation are for vfio-pci functions: an \
                 emulated function replaying a profile is intercepted, without relaxed \
                 translation"
                    .into(),
            )
        }
        (false, None, None) if !raw_only => Inputs::Profiles(files),
        (true, Some(device), None) => Inputs::Raw {
            device,
            iommu,
            endian: order.unwrap_or(Endian::Big),
        },
        (true, None, Some(a)) if !raw_only => Inputs::Live(a),
        (true, None, None) if raw_only => {
            return Err("--iommu-info and --byte-order go with --device-info".into())
        }
        (true, None, None) => return Err("nothing to inspect".into()),
        _ => {
            return Err("give host profiles, or --device-info, or --live: one kind of input".into())
        }
    };
    Ok(Parsed::Run(Options {
        json,
        request: FunctionRequest {
            fid,
            uid,
            interpreted,
            relaxed_translation: relaxed.unwrap_or(true),
        },
        inputs,
    }))
}

/// The captures to inspect, in the order given, or why each cannot be read.
fn captures(inputs: &Inputs) -> Vec<Result<Capture, String>> {
    match inputs {
        Inputs::Profiles(paths) => paths
            .iter()
            .map(|p| {
                HostProfile::load(p)
                    .map(|profile| Capture::from_profile(&p.to_string_lossy(), &profile))
                    .map_err(|e| e.to_string())
            })
            .collect(),
        Inputs::Raw {
            device,
            iommu,
            endian,
        } => vec![
            Capture::from_answer_files(device, iommu.as_deref(), *endian)
                .map_err(|e| e.to_string()),
        ],
        Inputs::Live(address) => vec![live::read(address)
            .map(|a| {
                let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
                Capture::from_live(a, release.as_deref().map(str::trim))
            })
            .map_err(|e| {
                let msg = e.to_string();
                // Every message names the function, or the file it is about.
                if msg.contains(address.as_str()) {
                    msg
                } else {
                    format!("--live {address}: {msg}")
                }
            })],
    }
}

fn run(opts: &Options) -> Result<String, Vec<String>> {
    let request = opts.request;
    let mut reports: Vec<Report> = Vec::new();
    let mut errors = Vec::new();
    for c in captures(&opts.inputs) {
        match c.and_then(|c| inspect::inspect(&c, &request).map_err(|e| e.to_string())) {
            Ok(r) => reports.push(r),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(if opts.json {
        inspect::json_document(&reports)
    } else {
        reports
            .iter()
            .map(Report::text)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args_os().skip(1).collect()) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("zpci-caps: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(out) => match std::io::stdout().lock().write_all(out.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            // A closed pipe, a full disk: the output did not get there.
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "zpci-caps: cannot write the output: {e}");
                ExitCode::FAILURE
            }
        },
        Err(errors) => {
            for e in errors {
                let _ = writeln!(std::io::stderr(), "zpci-caps: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
