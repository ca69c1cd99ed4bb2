//! The DMA translation state of one PCI function: the registered I/O
//! address translation (IOAT), the IOTLB, RPCIT and the translate callback.
//!
//! Source: `hw/s390x/s390-pci-inst.c` (`reg_ioat`, `pci_dereg_ioat`, the
//! IOAT cases of `mpcifc_service_call`) and `hw/s390x/s390-pci-bus.c`
//! (`s390_translate_iommu`, `s390_pci_iommu_enable`,
//! `s390_pci_iommu_direct_map_enable`, `s390_pci_iommu_disable`) of QEMU
//! 10.0.2.
//!
//! What the glue keeps doing in C, as QEMU does: the function state checks
//! before RPCIT (CC 3 for a function not enabled, CC 1 status 40 in the
//! error state), the FMB RPCIT counter (counted when the answer is not an
//! error), setting the error state and raising the error event the answers
//! carry, the memory regions (an IOMMU region in translation mode, an alias
//! of guest RAM at the aperture start in direct-mapping mode), and the VFIO
//! DMA entry count of the container ([`DmaBudget`]).
//!
//! Differences from QEMU 10.0.2 besides those of [`super::rpcit`]:
//! - deregistration gives the DMA entries of the dropped mappings back to
//!   the budget. QEMU empties its IOTLB without counting them back, while
//!   VFIO does free them when the IOMMU region goes away, so every
//!   deregistration loses QEMU that many entries for good;
//! - in direct-mapping mode RPCIT only walks (for the same answers). QEMU
//!   also fills the IOTLB and counts DMA entries for mappings that no
//!   notifier receives, as there is no IOMMU region in that mode.

#![forbid(unsafe_code)]

use thiserror::Error;

use super::guest_mem::GuestMemory;
use super::iotlb::{Iotlb, Translation};
use super::rpcit::{self, Ctx, DmaBudget, EventSink, Limits, RpcitOutcome, Space};
use super::walk::{RangeWalker, DT_REGION_THIRD, IOTA_TRANSLATION};
use super::{page_of, Access, ErrorCode, ErrorEvent, PAGE_SIZE};

/// The IOAT fields of a Modify PCI Function Controls FIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IoatRequest {
    /// I/O translation anchor.
    pub iota: u64,
    /// PCI base address of the DMA range.
    pub pba: u64,
    /// PCI address limit of the DMA range.
    pub pal: u64,
}

/// What the function offers for DMA (its CLP values and properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FunctionDma {
    /// Start of the DMA aperture (`sdma`).
    pub sdma: u64,
    /// End of the DMA aperture (`edma`), inclusive.
    pub edma: u64,
    /// Whether relaxed translation (direct mapping) may be registered
    /// (QEMU's `rtr_avail`).
    pub relaxed_translation: bool,
}

/// How a registered IOAT translates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoatMode {
    /// Through the guest's tables (the IOTA has translation enabled and
    /// designates a region-third table).
    Translated,
    /// Direct mapping (relaxed translation, the IOTA has translation
    /// disabled): guest absolute address X is I/O address `sdma + X`. QEMU
    /// maps an alias of guest RAM at `sdma`; nothing is translated here.
    Direct {
        /// The function's `sdma`, where guest address 0 appears.
        sdma: u64,
    },
}

/// A registered IOAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ioat {
    /// The I/O translation anchor, as the guest gave it.
    pub iota: u64,
    /// Base of the DMA range, page-aligned down.
    pub pba: u64,
    /// Limit of the DMA range, inclusive, extended to the end of its page.
    pub pal: u64,
    /// How it translates.
    pub mode: IoatMode,
}

/// How Modify PCI Function Controls answers a refused IOAT request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoatAnswer {
    /// CC 1 with status 24 (`ZPCI_MOD_ST_SEQUENCE`).
    SequenceError,
    /// Operand exception (`PGM_OPERAND`), as QEMU's `reg_ioat`.
    OperandException,
}

/// An IOAT request QEMU refuses.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq, Hash)]
pub enum IoatError {
    /// Registration while one is registered.
    #[error("an I/O address translation is already registered")]
    AlreadyRegistered,
    /// Deregistration with none registered.
    #[error("no I/O address translation is registered")]
    NotRegistered,
    /// The DMA range is empty or leaves the function's aperture.
    #[error(
        "DMA range {pba:#x}..={pal:#x} is empty or outside the function's \
         DMA aperture {sdma:#x}..={edma:#x}"
    )]
    Range {
        /// Base, page-aligned down.
        pba: u64,
        /// Limit, extended to its page end.
        pal: u64,
        /// Aperture start.
        sdma: u64,
        /// Aperture end.
        edma: u64,
    },
    /// Translation with a designation other than a region-third table.
    #[error(
        "IOTA {iota:#x}: designation type {dt} with translation is not \
         supported (only {DT_REGION_THIRD}, a region-third table)"
    )]
    UnsupportedDesignation {
        /// The IOTA.
        iota: u64,
        /// Its designation type.
        dt: u8,
    },
    /// Direct mapping when the function does not offer relaxed translation.
    #[error(
        "IOTA {iota:#x} asks for no translation (direct mapping), but \
         relaxed translation is not available for this function"
    )]
    RelaxedNotAvailable {
        /// The IOTA.
        iota: u64,
    },
}

impl IoatError {
    /// The guest-visible answer.
    #[must_use]
    pub const fn answer(&self) -> IoatAnswer {
        match self {
            Self::AlreadyRegistered | Self::NotRegistered => IoatAnswer::SequenceError,
            Self::Range { .. }
            | Self::UnsupportedDesignation { .. }
            | Self::RelaxedNotAvailable { .. } => IoatAnswer::OperandException,
        }
    }

    /// The status QEMU puts in the function's state after the refusal:
    /// [`MOD_STATUS_SEQUENCE`] with CC 1, [`MOD_STATUS_INSUF_RES`] beside
    /// an operand exception.
    #[must_use]
    pub const fn status(&self) -> u8 {
        match self.answer() {
            IoatAnswer::SequenceError => MOD_STATUS_SEQUENCE,
            IoatAnswer::OperandException => MOD_STATUS_INSUF_RES,
        }
    }
}

/// Status of CC 1 "sequence error" of Modify PCI Function Controls
/// (`ZPCI_MOD_ST_SEQUENCE`).
pub const MOD_STATUS_SEQUENCE: u8 = 24;
/// Status of CC 1 "insufficient resources" of Modify PCI Function Controls
/// (`ZPCI_MOD_ST_INSUF_RES`), set after a refused registration.
pub const MOD_STATUS_INSUF_RES: u8 = 16;

/// QEMU's `IOMMUTLBEntry`, less the target address space (always guest
/// memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlbEntry {
    /// I/O address of the translated block.
    pub iova: u64,
    /// Guest absolute address it translates to.
    pub translated_addr: u64,
    /// Mask of the address bits inside the block.
    pub addr_mask: u64,
    /// The access allowed (`Access::None`: none).
    pub perm: Access,
}

impl TlbEntry {
    /// What QEMU answers when it does not translate: everything, to
    /// nothing.
    const NONE: Self = Self {
        iova: 0,
        translated_addr: 0,
        addr_mask: u64::MAX,
        perm: Access::None,
    };
}

/// The answer of the translate callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DmaLookup {
    /// The translation to return to QEMU's memory core.
    pub entry: TlbEntry,
    /// An error event to raise; the function enters the error state.
    pub error: Option<ErrorEvent>,
}

/// The DMA translation state of one PCI function.
#[derive(Debug, Default)]
pub struct Iommu {
    ioat: Option<Ioat>,
    iotlb: Iotlb,
    walker: RangeWalker,
    limits: Limits,
}

impl Iommu {
    /// No IOAT registered, default [`Limits`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// No IOAT registered, the given limits.
    #[must_use]
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// The registered IOAT.
    #[must_use]
    pub const fn ioat(&self) -> Option<&Ioat> {
        self.ioat.as_ref()
    }

    /// The IOTLB: what the notifiers have been told.
    #[must_use]
    pub const fn iotlb(&self) -> &Iotlb {
        &self.iotlb
    }

    /// Registers an IOAT (Modify PCI Function Controls, register I/O
    /// address translation parameters), with QEMU's `reg_ioat` checks.
    ///
    /// # Errors
    ///
    /// An [`IoatError`]; [`IoatError::answer`] says what the guest gets.
    pub fn register_ioat(
        &mut self,
        req: IoatRequest,
        dma: &FunctionDma,
    ) -> Result<Ioat, IoatError> {
        if self.ioat.is_some() {
            return Err(IoatError::AlreadyRegistered);
        }
        let pba = req.pba & !(PAGE_SIZE - 1);
        let pal = req.pal | (PAGE_SIZE - 1);
        if pba > pal || pba < dma.sdma || pal > dma.edma {
            return Err(IoatError::Range {
                pba,
                pal,
                sdma: dma.sdma,
                edma: dma.edma,
            });
        }
        let dt = ((req.iota >> 2) & 7) as u8;
        let translation = req.iota & IOTA_TRANSLATION != 0;
        let mode = if translation {
            if dt != DT_REGION_THIRD {
                return Err(IoatError::UnsupportedDesignation { iota: req.iota, dt });
            }
            IoatMode::Translated
        } else if dma.relaxed_translation {
            IoatMode::Direct { sdma: dma.sdma }
        } else {
            return Err(IoatError::RelaxedNotAvailable { iota: req.iota });
        };
        let ioat = Ioat {
            iota: req.iota,
            pba,
            pal,
            mode,
        };
        self.ioat = Some(ioat);
        Ok(ioat)
    }

    /// Deregisters the IOAT. The IOTLB is emptied without events: the glue
    /// removes the IOMMU region, on which VFIO unmaps the whole range. The
    /// DMA entries of the dropped mappings go back to `budget`. Returns how
    /// many mappings were dropped.
    ///
    /// # Errors
    ///
    /// [`IoatError::NotRegistered`].
    pub fn deregister_ioat(&mut self, budget: &mut DmaBudget) -> Result<u64, IoatError> {
        if self.ioat.take().is_none() {
            return Err(IoatError::NotRegistered);
        }
        let dropped = self.iotlb.clear();
        budget.give(dropped);
        Ok(dropped)
    }

    /// RPCIT over `start .. start + len` (the values of registers R2 and
    /// R2+1): refreshes the IOTLB from the guest's tables and tells `sink`
    /// what changed. DMA entries come from `budget`.
    pub fn rpcit<M, S>(
        &mut self,
        mem: &M,
        start: u64,
        len: u64,
        budget: &mut DmaBudget,
        sink: &mut S,
    ) -> RpcitOutcome
    where
        M: GuestMemory + ?Sized,
        S: EventSink + ?Sized,
    {
        let space = self.ioat.map(|ioat| Space {
            iota: ioat.iota,
            pba: ioat.pba,
            pal: ioat.pal,
            translated: ioat.mode == IoatMode::Translated,
        });
        let ctx = Ctx {
            walker: &mut self.walker,
            iotlb: &mut self.iotlb,
            mem,
            budget,
            sink,
            limits: self.limits,
        };
        rpcit::rpcit(ctx, space, start, len)
    }

    /// The IOTLB translation of the page containing `iova`.
    #[inline]
    #[must_use]
    pub fn translate(&self, iova: u64) -> Option<Translation> {
        self.iotlb.lookup(iova)
    }

    /// The translate callback of the IOMMU region (QEMU's
    /// `s390_translate_iommu`), for a function in the enabled or blocked
    /// state: outside the DMA range, an out-of-range error event; an access
    /// none of whose bits the page allows (an unmapped page allows none), a
    /// protection error event. Without a translating IOAT, no translation
    /// and no event.
    #[must_use]
    pub fn dma_translate(&self, addr: u64, access: Access) -> DmaLookup {
        let Some(ioat) = self.ioat.filter(|i| i.mode == IoatMode::Translated) else {
            return DmaLookup {
                entry: TlbEntry::NONE,
                error: None,
            };
        };
        if addr < ioat.pba || addr > ioat.pal {
            return DmaLookup {
                entry: TlbEntry::NONE,
                error: Some(ErrorEvent {
                    code: ErrorCode::OutOfRange,
                    faddr: addr,
                }),
            };
        }
        let entry = match self.iotlb.lookup(addr) {
            Some(t) => TlbEntry {
                iova: t.iova,
                translated_addr: t.gpa,
                addr_mask: PAGE_SIZE - 1,
                perm: t.perm.access(),
            },
            None => TlbEntry {
                iova: page_of(addr) << super::PAGE_SHIFT,
                translated_addr: 0,
                addr_mask: PAGE_SIZE - 1,
                perm: Access::None,
            },
        };
        // QEMU: `flag != IOMMU_NONE && !(flag & ret.perm)`.
        let refused =
            access != Access::None && access.iommu_flags() & entry.perm.iommu_flags() == 0;
        DmaLookup {
            entry,
            error: refused.then_some(ErrorEvent {
                code: ErrorCode::TranslationProtection,
                faddr: addr,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::iommu::rpcit::{Event, RpcitAnswer};
    use crate::iommu::{Perm, VecMemory};

    const SDMA: u64 = 0x1_0000_0000;
    const EDMA: u64 = 0x01ff_ffff_ffff_ffff;

    fn dma(relaxed: bool) -> FunctionDma {
        FunctionDma {
            sdma: SDMA,
            edma: EDMA,
            relaxed_translation: relaxed,
        }
    }

    fn req(iota: u64, pba: u64, pal: u64) -> IoatRequest {
        IoatRequest { iota, pba, pal }
    }

    #[test]
    fn register_rounds_the_range_to_pages() {
        let mut iommu = Iommu::new();
        let ioat = iommu
            .register_ioat(req(0x4804, SDMA + 0x123, SDMA + 0x5000), &dma(false))
            .unwrap();
        assert_eq!(
            ioat,
            Ioat {
                iota: 0x4804,
                pba: SDMA,
                pal: SDMA + 0x5fff,
                mode: IoatMode::Translated
            }
        );
        assert_eq!(iommu.ioat(), Some(&ioat));
    }

    #[test]
    fn register_refusals_are_qemus() {
        let mut iommu = Iommu::new();
        let cases = [
            (req(0x4804, SDMA + 0x2000, SDMA + 0x1000), false), // pba > pal
            (req(0x4804, SDMA - 0x1000, SDMA + 0x1000), false), // below sdma
            (req(0x4804, SDMA, EDMA + 1), false),               // above edma
            (req(0x4800, SDMA, SDMA + 0xfff), false),           // dt 0 with translation
            (req(0x480c, SDMA, SDMA + 0xfff), false),           // dt 3 with translation
            (req(0x4004, SDMA, SDMA + 0xfff), false),           // no translation, no rtr
        ];
        for (r, relaxed) in cases {
            let e = iommu.register_ioat(r, &dma(relaxed)).unwrap_err();
            assert_eq!(e.answer(), IoatAnswer::OperandException, "{e}");
        }
        assert!(matches!(
            iommu.register_ioat(req(0x480c, SDMA, SDMA), &dma(false)),
            Err(IoatError::UnsupportedDesignation { dt: 3, .. })
        ));
        assert_eq!(iommu.ioat(), None);
        // pal | 0xfff makes the end of a page fine
        iommu
            .register_ioat(req(0x4804, SDMA, EDMA & !0xfff), &dma(false))
            .unwrap();
        let e = iommu
            .register_ioat(req(0x4804, SDMA, SDMA), &dma(false))
            .unwrap_err();
        assert_eq!(
            (e, e.answer()),
            (IoatError::AlreadyRegistered, IoatAnswer::SequenceError)
        );
    }

    #[test]
    fn direct_mapping_needs_relaxed_translation() {
        let mut iommu = Iommu::new();
        let ioat = iommu
            .register_ioat(req(0, SDMA, SDMA + 0xffff), &dma(true))
            .unwrap();
        assert_eq!(ioat.mode, IoatMode::Direct { sdma: SDMA });
        // no IOMMU region in this mode: the callback translates nothing
        let l = iommu.dma_translate(SDMA, Access::Read);
        assert_eq!((l.entry, l.error), (TlbEntry::NONE, None));
    }

    #[test]
    fn deregister_gives_entries_back() {
        let mut mem = VecMemory::new(0x10_0000);
        let (rt, st, pt) = (0x4000u64, 0x8000u64, 0xc000u64);
        mem.write_u64(rt + 16, st | 7).unwrap();
        mem.write_u64(st, pt).unwrap();
        for k in 0..4u64 {
            mem.write_u64(pt + k * 8, 0x2_0000 + k * 0x2000).unwrap(); // not contiguous
        }
        let mut iommu = Iommu::new();
        let mut budget = DmaBudget::limited(10);
        assert_eq!(
            iommu.deregister_ioat(&mut budget),
            Err(IoatError::NotRegistered)
        );
        assert_eq!(IoatError::NotRegistered.answer(), IoatAnswer::SequenceError);
        iommu
            .register_ioat(req(rt | 0x804, SDMA, SDMA + 0xf_ffff), &dma(false))
            .unwrap();
        let mut events: Vec<Event> = Vec::new();
        let out = iommu.rpcit(&mem, SDMA, 0x4000, &mut budget, &mut events);
        assert_eq!(
            (out.answer, events.len(), budget.avail()),
            (RpcitAnswer::Done, 4, Some(6))
        );
        assert_eq!(iommu.deregister_ioat(&mut budget), Ok(4));
        assert_eq!(budget.avail(), Some(10));
        assert_eq!(iommu.translate(SDMA), None);
        assert_eq!(iommu.ioat(), None);
    }

    fn translated() -> Iommu {
        let mut mem = VecMemory::new(0x10_0000);
        let (rt, st, pt) = (0x4000u64, 0x8000u64, 0xc000u64);
        mem.write_u64(rt + 16, st | 7).unwrap();
        mem.write_u64(st, pt).unwrap();
        mem.write_u64(pt, 0x2_0000).unwrap();
        mem.write_u64(pt + 8, 0x3_0000 | 0x200).unwrap();
        mem.write_u64(pt + 16, 0x400).unwrap();
        let mut iommu = Iommu::new();
        iommu
            .register_ioat(req(rt | 0x804, SDMA, SDMA + 0xf_ffff), &dma(false))
            .unwrap();
        let mut events: Vec<Event> = Vec::new();
        iommu.rpcit(&mem, SDMA, 0x3000, &mut DmaBudget::unlimited(), &mut events);
        iommu
    }

    #[test]
    fn translate_callback_is_qemus() {
        let iommu = translated();
        let rw = iommu.dma_translate(SDMA + 0x10, Access::Write);
        assert_eq!(
            rw,
            DmaLookup {
                entry: TlbEntry {
                    iova: SDMA,
                    translated_addr: 0x2_0000,
                    addr_mask: 0xfff,
                    perm: Access::ReadWrite
                },
                error: None
            }
        );
        let ro = SDMA + 0x1000;
        assert_eq!(iommu.dma_translate(ro, Access::Read).error, None);
        let tprote = ErrorEvent {
            code: ErrorCode::TranslationProtection,
            faddr: ro + 8,
        };
        assert_eq!(
            iommu.dma_translate(ro + 8, Access::Write).error,
            Some(tprote)
        );
        // QEMU checks for any common bit: read-write on read-only passes
        assert_eq!(iommu.dma_translate(ro, Access::ReadWrite).error, None);
        // an unmapped page: no permission at all
        let none = iommu.dma_translate(SDMA + 0x2abc, Access::None);
        assert_eq!(
            none,
            DmaLookup {
                entry: TlbEntry {
                    iova: SDMA + 0x2000,
                    translated_addr: 0,
                    addr_mask: 0xfff,
                    perm: Access::None
                },
                error: None
            }
        );
        assert_eq!(
            iommu
                .dma_translate(SDMA + 0x2abc, Access::Read)
                .error
                .unwrap()
                .code,
            ErrorCode::TranslationProtection
        );
        // outside pba ..= pal
        for addr in [SDMA - 1, SDMA + 0x10_0000] {
            let l = iommu.dma_translate(addr, Access::None);
            assert_eq!(l.entry, TlbEntry::NONE);
            assert_eq!(
                l.error,
                Some(ErrorEvent {
                    code: ErrorCode::OutOfRange,
                    faddr: addr
                })
            );
        }
        assert_eq!(
            iommu.translate(SDMA + 0x1fff).map(|t| (t.gpa, t.perm)),
            Some((0x3_0000, Perm::ReadOnly))
        );
    }

    #[test]
    fn access_flags_are_qemus() {
        for (a, f) in [
            (Access::None, 0),
            (Access::Read, 1),
            (Access::Write, 2),
            (Access::ReadWrite, 3),
        ] {
            assert_eq!(a.iommu_flags(), f);
            assert_eq!(Access::from_iommu_flags(f), a);
        }
        assert_eq!(Access::from_iommu_flags(0x7), Access::ReadWrite);
        assert!(Perm::ReadOnly.allows(Access::Read));
        assert!(!Perm::ReadOnly.allows(Access::Write));
        assert!(Perm::ReadWrite.allows(Access::ReadWrite));
        assert!(Perm::ReadOnly.allows(Access::None));
    }

    #[test]
    fn refusals_carry_qemus_status() {
        for (e, answer, status) in [
            (IoatError::AlreadyRegistered, IoatAnswer::SequenceError, 24),
            (IoatError::NotRegistered, IoatAnswer::SequenceError, 24),
            (
                IoatError::RelaxedNotAvailable { iota: 0 },
                IoatAnswer::OperandException,
                16,
            ),
        ] {
            assert_eq!((e.answer(), e.status()), (answer, status), "{e:?}");
        }
    }

    #[test]
    fn error_messages_name_the_values() {
        let e = IoatError::Range {
            pba: 0x1000,
            pal: 0x1fff,
            sdma: SDMA,
            edma: EDMA,
        };
        assert_eq!(
            e.to_string(),
            "DMA range 0x1000..=0x1fff is empty or outside the function's DMA aperture \
             0x100000000..=0x1ffffffffffffff"
        );
    }
}
