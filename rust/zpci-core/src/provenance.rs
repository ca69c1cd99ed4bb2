//! Where each value of a CLP answer came from: the fields, their
//! provenance, and the source a function's answers were built from.
//!
//! A leaf: the answers' builders (`vfio::clp_builder`, `vfio::host`) record
//! provenance with these types, and the presentation (`describe`) reads
//! it; neither needs the other.

use std::fmt;

/// A field of the CLP answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Start of the DMA aperture.
    Sdma,
    /// End of the DMA aperture.
    Edma,
    /// Physical channel id.
    Pchid,
    /// Virtual function number.
    Vfn,
    /// Function group id.
    Pfgid,
    /// Function measurement block length.
    Fmbl,
    /// Function type.
    Pft,
    /// Utility string and its flag.
    UtilStr,
    /// Function internal path.
    Pfip,
    /// Group: relaxed translation flag.
    Rtr,
    /// Group: refresh flag.
    Refresh,
    /// Group: number of interrupts.
    Noi,
    /// Group: maximum store block length.
    Maxstbl,
    /// Group: measurement update interval.
    Mui,
    /// Group: PCI version.
    Version,
    /// Group: designation type mask.
    Dtsm,
    /// Group: DMA address space mask.
    Dasm,
    /// Group: MSI address.
    Msia,
}

/// The function fields, in answer order.
pub const FUNCTION_FIELDS: [Field; 9] = [
    Field::Sdma,
    Field::Edma,
    Field::Pchid,
    Field::Vfn,
    Field::Pfgid,
    Field::Fmbl,
    Field::Pft,
    Field::UtilStr,
    Field::Pfip,
];

/// The group fields, in answer order.
pub const GROUP_FIELDS: [Field; 9] = [
    Field::Rtr,
    Field::Refresh,
    Field::Noi,
    Field::Maxstbl,
    Field::Mui,
    Field::Version,
    Field::Dtsm,
    Field::Dasm,
    Field::Msia,
];

/// Where a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// QEMU's value for an emulated function.
    Default,
    /// A host capability, as reported.
    HostCap {
        /// Capability id.
        id: u16,
        /// Capability version.
        version: u16,
    },
    /// A policy decided it.
    Policy(&'static str),
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::HostCap { id, version } => write!(f, "host capability {id} v{version}"),
            Self::Policy(why) => f.write_str(why),
        }
    }
}

/// Fields and where their values came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenances(Vec<(Field, Provenance)>);

impl Provenances {
    pub(crate) fn all(fields: &[Field], p: Provenance) -> Self {
        Self(fields.iter().map(|&f| (f, p)).collect())
    }

    pub(crate) fn set(&mut self, field: Field, p: Provenance) {
        match self.0.iter_mut().find(|(f, _)| *f == field) {
            Some(entry) => entry.1 = p,
            None => self.0.push((field, p)),
        }
    }

    /// Where `field`'s value came from.
    #[must_use]
    pub fn of(&self, field: Field) -> Option<Provenance> {
        self.0.iter().find(|(f, _)| *f == field).map(|&(_, p)| p)
    }

    /// Every field, in answer order.
    #[must_use]
    pub fn entries(&self) -> &[(Field, Provenance)] {
        &self.0
    }
}

/// Where a function's answers were built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// An emulated function: QEMU's defaults.
    Emulated,
    /// A vfio-pci function: the host's VFIO capabilities.
    Vfio,
    /// An emulated function replaying the host profile at this path.
    Profile(String),
}

impl Source {
    /// The source's name: `emulated`, `vfio` or `host-profile`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Emulated => "emulated",
            Self::Vfio => "vfio",
            Self::Profile(_) => "host-profile",
        }
    }
}

/// What zpci-rs answered for a function: the values it built, where each
/// came from, and from what.
#[derive(Debug)]
pub struct Attribution<'a, T> {
    /// The values as built.
    pub values: &'a T,
    /// Their provenance.
    pub provenance: &'a Provenances,
    /// What they were built from.
    pub source: &'a Source,
}

impl<T> Clone for Attribution<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Attribution<'_, T> {}
