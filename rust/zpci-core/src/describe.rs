//! What a guest is shown, value by value, and why.
//!
//! QEMU's `x-query-zpci` / `info zpci` and the `zpci-caps` inspector print
//! the CLP values of a function with the same names and the same
//! provenance words, all made here:
//! - `default`: QEMU's value for an emulated function;
//! - `host zPCI base capability (id 1) v2`: the host's VFIO capability;
//!   with `, replayed from FILE` when a host profile was replayed;
//! - a policy step, such as `edma shrunk to the DMA limit`;
//! - `device property`: the zpci device's `fid` or `uid`;
//! - `changed after zpci-rs answered`: QEMU presents a value other than
//!   the one zpci-rs built (which it never should).

#![forbid(unsafe_code)]

use std::fmt::{self, Write as _};

use crate::clp::{FunctionGroup, GroupFlags, PciFunction};
use crate::provenance::{Attribution, Field, Provenance, Source, FUNCTION_FIELDS, GROUP_FIELDS};
use crate::vfio::caps::cap_id;

/// A value as presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A number.
    Number(u64),
    /// Bytes, as lowercase hex without separators.
    Hex(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n:#x}"),
            Self::Hex(h) => f.write_str(h),
        }
    }
}

/// One value the guest is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    /// The value's name (`sdma`, `util-str`, `msia`, ...).
    pub name: &'static str,
    /// The value.
    pub value: Value,
    /// Where it came from, in words.
    pub provenance: String,
}

/// Provenance of a value set from a device property.
pub const WHY_PROPERTY: &str = "device property";
/// Provenance of a value QEMU presents other than zpci-rs built it.
pub const WHY_CHANGED: &str = "changed after zpci-rs answered";

/// The name of a host device capability.
#[must_use]
pub fn device_cap_name(id: u16) -> &'static str {
    match id {
        cap_id::ZPCI_BASE => "zPCI base",
        cap_id::ZPCI_GROUP => "zPCI group",
        cap_id::ZPCI_UTIL => "zPCI utility string",
        cap_id::ZPCI_PFIP => "zPCI function path",
        _ => "unknown",
    }
}

/// `p` in words, for a function built from `source`.
#[must_use]
pub fn provenance_words(p: Provenance, source: &Source) -> String {
    match p {
        Provenance::Default => "default".to_owned(),
        Provenance::HostCap { id, version } => {
            let mut s = format!(
                "host {} capability (id {id}) v{version}",
                device_cap_name(id)
            );
            if let Source::Profile(path) = source {
                // Writing to a String cannot fail.
                let _ = write!(s, ", replayed from {path}");
            }
            s
        }
        Provenance::Policy(why) => why.to_owned(),
    }
}

/// Lowercase hex of `bytes`, without separators.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn function_value(f: &PciFunction, field: Field) -> Option<Value> {
    let n = |v: u64| Some(Value::Number(v));
    match field {
        Field::Sdma => n(f.sdma),
        Field::Edma => n(f.edma),
        Field::Pchid => n(f.pchid.into()),
        Field::Vfn => n(f.vfn.into()),
        Field::Pfgid => n(f.pfgid.into()),
        Field::Fmbl => n(f.fmbl.into()),
        Field::Pft => n(f.pft.into()),
        Field::UtilStr => Some(Value::Hex(hex(&f.util_str))),
        Field::Pfip => Some(Value::Hex(hex(&f.pfip))),
        _ => None,
    }
}

fn group_value(g: &FunctionGroup, field: Field) -> Option<Value> {
    let n = |v: u64| Some(Value::Number(v));
    let flag = |bit: u8| n(u64::from(g.flags.0 & bit != 0));
    match field {
        Field::Rtr => flag(GroupFlags::RTR),
        Field::Refresh => flag(GroupFlags::REFRESH),
        Field::Noi => n(g.noi.into()),
        Field::Maxstbl => n(g.maxstbl.into()),
        Field::Mui => n(g.mui.into()),
        Field::Version => n(g.version.into()),
        Field::Dtsm => n(g.dtsm.into()),
        Field::Dasm => n(g.dasm),
        Field::Msia => n(g.msia),
        _ => None,
    }
}

/// The name of a field, as QMP and the inspector print it.
#[must_use]
pub fn field_name(field: Field) -> &'static str {
    match field {
        Field::Sdma => "sdma",
        Field::Edma => "edma",
        Field::Pchid => "pchid",
        Field::Vfn => "vfn",
        Field::Pfgid => "pfgid",
        Field::Fmbl => "fmbl",
        Field::Pft => "pft",
        Field::UtilStr => "util-str",
        Field::Pfip => "pfip",
        Field::Rtr => "rtr",
        Field::Refresh => "refresh",
        Field::Noi => "noi",
        Field::Maxstbl => "maxstbl",
        Field::Mui => "mui",
        Field::Version => "version",
        Field::Dtsm => "dtsm",
        Field::Dasm => "dasm",
        Field::Msia => "msia",
    }
}

fn describe<T>(
    fields: &[Field],
    presented: &T,
    answered: Option<Attribution<'_, T>>,
    value: fn(&T, Field) -> Option<Value>,
) -> Vec<Described> {
    fields
        .iter()
        .filter_map(|&field| {
            let shown = value(presented, field)?;
            let provenance = match answered {
                None => provenance_words(Provenance::Default, &Source::Emulated),
                Some(a) if value(a.values, field).as_ref() != Some(&shown) => {
                    WHY_CHANGED.to_owned()
                }
                Some(a) => provenance_words(
                    a.provenance.of(field).unwrap_or(Provenance::Default),
                    a.source,
                ),
            };
            Some(Described {
                name: field_name(field),
                value: shown,
                provenance,
            })
        })
        .collect()
}

/// The Query PCI Function values `presented` to the guest, each with its
/// provenance: from `answered` when zpci-rs built the function's answers
/// (a vfio-pci function or a replayed profile), else `default`.
#[must_use]
pub fn function(
    presented: &PciFunction,
    answered: Option<Attribution<'_, PciFunction>>,
) -> Vec<Described> {
    let mut out = vec![
        Described {
            name: "fid",
            value: Value::Number(presented.fid.into()),
            provenance: WHY_PROPERTY.to_owned(),
        },
        Described {
            name: "uid",
            value: Value::Number(presented.uid.into()),
            provenance: WHY_PROPERTY.to_owned(),
        },
    ];
    out.extend(describe(
        &FUNCTION_FIELDS,
        presented,
        answered,
        function_value,
    ));
    out
}

/// The Query PCI Function Group values `presented` to the guest, each
/// with its provenance, as for [`function`]; `answered` is the group as
/// the function that created it got it.
#[must_use]
pub fn group(
    presented: &FunctionGroup,
    answered: Option<Attribution<'_, FunctionGroup>>,
) -> Vec<Described> {
    describe(&GROUP_FIELDS, presented, answered, group_value)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::clp::FunctionFlags;
    use crate::defaults;
    use crate::provenance::Provenances;

    #[test]
    fn emulated_function_is_all_default() {
        let f = defaults::pci_function(7, 9);
        let d = function(&f, None);
        assert_eq!(d.len(), 11);
        assert_eq!(d[0].name, "fid");
        assert_eq!(d[0].value, Value::Number(7));
        assert_eq!(d[1].provenance, WHY_PROPERTY);
        assert!(d[2..].iter().all(|v| v.provenance == "default"));
        let g = group(&defaults::function_group(), None);
        assert_eq!(g.len(), 9);
        assert!(g.iter().all(|v| v.provenance == "default"));
    }

    #[test]
    fn host_capability_words_name_the_profile() {
        let p = Provenance::HostCap { id: 1, version: 2 };
        assert_eq!(
            provenance_words(p, &Source::Vfio),
            "host zPCI base capability (id 1) v2"
        );
        assert_eq!(
            provenance_words(p, &Source::Profile("/x/a.zpcihost".into())),
            "host zPCI base capability (id 1) v2, replayed from /x/a.zpcihost"
        );
        assert_eq!(
            provenance_words(
                Provenance::Policy("edma shrunk to the DMA limit"),
                &Source::Vfio
            ),
            "edma shrunk to the DMA limit"
        );
    }

    #[test]
    fn a_value_changed_after_the_answer_says_so() {
        let built = defaults::pci_function(1, 1);
        let mut shown = built.clone();
        shown.edma = 0x1000;
        let prov = Provenances::default();
        let d = function(
            &shown,
            Some(Attribution {
                values: &built,
                provenance: &prov,
                source: &Source::Vfio,
            }),
        );
        let edma = d
            .iter()
            .find(|v| v.name == "edma")
            .map(|v| v.provenance.as_str());
        assert_eq!(edma, Some(WHY_CHANGED));
        let sdma = d
            .iter()
            .find(|v| v.name == "sdma")
            .map(|v| v.provenance.as_str());
        assert_eq!(sdma, Some("default"));
    }

    #[test]
    fn util_string_bytes_as_given() {
        let mut f = defaults::pci_function(1, 1);
        let d = function(&f, None);
        let u = d
            .iter()
            .find(|v| v.name == "util-str")
            .map(|v| v.value.clone());
        assert_eq!(u, Some(Value::Hex("00".repeat(64))));
        f.util_str = [0x40; 64];
        f.flags = FunctionFlags(FunctionFlags::UTIL_STR_AVAILABLE);
        let d = function(&f, None);
        let u = d
            .iter()
            .find(|v| v.name == "util-str")
            .map(|v| v.value.clone());
        assert_eq!(u, Some(Value::Hex("40".repeat(64))));
    }
}
