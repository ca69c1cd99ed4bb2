//! The per-function IOTLB: what has been announced to the IOMMU notifiers
//! (VFIO, vhost) and what the DMA fast path translates with.
//!
//! QEMU 10.0.2 keeps a `GHashTable` of `g_new`ed 32-byte `S390IOTLBEntry`s
//! keyed by page (`iommu->iotlb`): a lookup hashes, a map allocates, and
//! each mapped page costs the entry plus the hash node, about 80 bytes.
//!
//! Here: a radix tree over the 52-bit I/O page number, shaped like the
//! guest's own tables: leaves of 256 slots (one guest page table, 1 MiB of
//! I/O space) under four levels of 2048-way nodes. A slot is one `u64`:
//!
//! ```text
//!  63                     12 11    8 7        2   1   0
//! | guest frame number      | 0000  | order    | W | V |
//! ```
//!
//! `V`: mapped; `W`: writable (else read-only); `order`: log2 of the pages
//! of the mapping (the VFIO DMA entry) the page belongs to. Mappings are
//! naturally aligned powers of two in both I/O and guest address, so the
//! order alone locates a page's mapping: it starts at the page number with
//! the low `order` bits cleared.
//!
//! Why a radix tree rather than an open-addressing table keyed by page:
//! - a lookup is five dependent loads and a mask, no hashing, and its cost
//!   does not depend on which I/O addresses the guest picks (a guest cannot
//!   build colliding keys, and there is no rehash pause);
//! - a slot needs no key, so a mapped page costs 8 bytes in a full leaf,
//!   where a hash table needs the key too (16 bytes) plus free space;
//! - invalidating a range (an invalid 2 GiB region-third entry) skips empty
//!   subtrees instead of probing every page.
//!
//! Memory: 8 bytes per page in a leaf (2056-byte leaves), plus 16 KiB per
//! node. Mapped pages that share a leaf share its cost; the worst case is
//! one mapped page per MiB of I/O space, one leaf (2 KiB) per page. See the
//! `bytes_per_page_*` tests for the measured numbers.
//!
//! Lookup allocates nothing and takes `&self`.

#![forbid(unsafe_code)]

use thiserror::Error;

use super::{addr_of, page_of, Perm, PAGE_COUNT, PAGE_SHIFT, PAGE_SIZE};

/// log2 of the slots of a leaf.
const LEAF_BITS: u32 = 8;
/// Slots per leaf: one guest page table's worth.
const LEAF_SLOTS: usize = 1 << LEAF_BITS;
/// Index mask of a leaf.
const LEAF_MASK: u64 = (1 << LEAF_BITS) - 1;
/// log2 of the children of a node.
const NODE_BITS: u32 = 11;
/// Children per node: one guest segment or region-third table's worth.
const NODE_CHILDREN: usize = 1 << NODE_BITS;
/// Index mask of a node.
const NODE_MASK: u64 = (1 << NODE_BITS) - 1;
/// Largest mapping order: 2^51 pages, 2^63 bytes (the size must fit a
/// `u64`).
pub const MAX_ORDER: u8 = 51;

/// One page's entry. Zero is "not mapped".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot(u64);

impl Slot {
    const EMPTY: Self = Self(0);
    const VALID: u64 = 1;
    const WRITE: u64 = 2;
    const ORDER_SHIFT: u32 = 2;
    const ORDER_MASK: u64 = 0x3f;

    /// Callers keep `gfn` below 2^52 and `order` at most [`MAX_ORDER`].
    fn new(gfn: u64, perm: Perm, order: u8) -> Self {
        let write = match perm {
            Perm::ReadOnly => 0,
            Perm::ReadWrite => Self::WRITE,
        };
        Self(
            (gfn << PAGE_SHIFT)
                | ((u64::from(order) & Self::ORDER_MASK) << Self::ORDER_SHIFT)
                | write
                | Self::VALID,
        )
    }

    const fn is_mapped(self) -> bool {
        self.0 & Self::VALID != 0
    }

    const fn gfn(self) -> u64 {
        self.0 >> PAGE_SHIFT
    }

    const fn perm(self) -> Perm {
        if self.0 & Self::WRITE != 0 {
            Perm::ReadWrite
        } else {
            Perm::ReadOnly
        }
    }

    const fn order(self) -> u8 {
        ((self.0 >> Self::ORDER_SHIFT) & Self::ORDER_MASK) as u8
    }

    /// The slot `n` pages further on in the same mapping; empty stays empty.
    const fn advance(self, n: u64) -> Self {
        if self.is_mapped() {
            Self(self.0.wrapping_add(n << PAGE_SHIFT))
        } else {
            self
        }
    }
}

/// A level of the radix tree.
trait Subtree: Sized {
    /// log2 of the pages one subtree of this type covers.
    const SPAN_BITS: u32;
    fn boxed() -> Box<Self>;
    fn is_empty(&self) -> bool;
    fn get(&self, page: u64) -> Slot;
    /// Sets the slots of pages `first .. end` (inside this subtree): `slot`
    /// for `first`, then `slot` advanced by one page for each next page.
    fn fill(&mut self, first: u64, end: u64, slot: Slot);
    /// The first mapped page in `from .. end` (inside this subtree).
    fn next_mapped(&self, from: u64, end: u64) -> Option<u64>;
    fn heap_bytes(&self) -> usize;
}

struct Leaf {
    used: u32,
    slots: [Slot; LEAF_SLOTS],
}

impl Subtree for Leaf {
    const SPAN_BITS: u32 = LEAF_BITS;

    fn boxed() -> Box<Self> {
        Box::new(Self {
            used: 0,
            slots: [Slot::EMPTY; LEAF_SLOTS],
        })
    }

    fn is_empty(&self) -> bool {
        self.used == 0
    }

    #[inline]
    fn get(&self, page: u64) -> Slot {
        let i = (page & LEAF_MASK) as usize;
        self.slots.get(i).copied().unwrap_or(Slot::EMPTY)
    }

    fn fill(&mut self, first: u64, end: u64, mut slot: Slot) {
        let lo = (first & LEAF_MASK) as usize;
        let n = usize::try_from(end.saturating_sub(first)).unwrap_or(0);
        for s in self.slots.iter_mut().skip(lo).take(n) {
            match (s.is_mapped(), slot.is_mapped()) {
                (false, true) => self.used += 1,
                (true, false) => self.used = self.used.saturating_sub(1),
                _ => {}
            }
            *s = slot;
            slot = slot.advance(1);
        }
    }

    fn next_mapped(&self, from: u64, end: u64) -> Option<u64> {
        let lo = (from & LEAF_MASK) as usize;
        let n = usize::try_from(end.saturating_sub(from)).unwrap_or(0);
        let k = self
            .slots
            .iter()
            .skip(lo)
            .take(n)
            .position(|s| s.is_mapped())?;
        from.checked_add(u64::try_from(k).ok()?)
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

struct Node<T> {
    used: u32,
    children: [Option<Box<T>>; NODE_CHILDREN],
}

impl<T: Subtree> Node<T> {
    #[inline]
    fn index(page: u64) -> usize {
        ((page >> T::SPAN_BITS) & NODE_MASK) as usize
    }

    /// The first page after the child subtree that holds `page`.
    fn child_end(page: u64) -> u64 {
        ((page >> T::SPAN_BITS) + 1) << T::SPAN_BITS
    }
}

impl<T: Subtree> Subtree for Node<T> {
    const SPAN_BITS: u32 = T::SPAN_BITS + NODE_BITS;

    fn boxed() -> Box<Self> {
        Box::new(Self {
            used: 0,
            children: std::array::from_fn(|_| None),
        })
    }

    fn is_empty(&self) -> bool {
        self.used == 0
    }

    #[inline]
    fn get(&self, page: u64) -> Slot {
        match self.children.get(Self::index(page)) {
            Some(Some(child)) => child.get(page),
            _ => Slot::EMPTY,
        }
    }

    fn fill(&mut self, mut first: u64, end: u64, mut slot: Slot) {
        // At most NODE_CHILDREN iterations: each moves to the next child.
        while first < end {
            let stop = Self::child_end(first).min(end);
            let Some(entry) = self.children.get_mut(Self::index(first)) else {
                return;
            };
            match entry {
                Some(child) => {
                    child.fill(first, stop, slot);
                    if child.is_empty() {
                        *entry = None;
                        self.used = self.used.saturating_sub(1);
                    }
                }
                None if slot.is_mapped() => {
                    let mut child = T::boxed();
                    child.fill(first, stop, slot);
                    *entry = Some(child);
                    self.used += 1;
                }
                None => {}
            }
            slot = slot.advance(stop - first);
            first = stop;
        }
    }

    fn next_mapped(&self, from: u64, end: u64) -> Option<u64> {
        let mut page = from;
        while page < end {
            let stop = Self::child_end(page).min(end);
            if let Some(Some(child)) = self.children.get(Self::index(page)) {
                if let Some(found) = child.next_mapped(page, stop) {
                    return Some(found);
                }
            }
            page = stop;
        }
        None
    }

    fn heap_bytes(&self) -> usize {
        self.children
            .iter()
            .flatten()
            .fold(std::mem::size_of::<Self>(), |sum, c| {
                sum.saturating_add(c.heap_bytes())
            })
    }
}

/// Four node levels over leaves: 8 + 4 * 11 = 52 bits of page number.
type Root = Node<Node<Node<Node<Leaf>>>>;

/// A mapping, as one DMA entry of a VFIO container sees it: `2^order`
/// pages, naturally aligned in both I/O and guest address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Extent {
    /// First I/O address.
    pub iova: u64,
    /// First guest absolute address.
    pub gpa: u64,
    /// log2 of the number of 4 KiB pages.
    pub order: u8,
    /// What the device may do.
    pub perm: Perm,
}

impl Extent {
    /// Size in bytes; 0 for an order above [`MAX_ORDER`].
    #[must_use]
    pub const fn size(&self) -> u64 {
        if self.order > MAX_ORDER {
            0
        } else {
            PAGE_SIZE << self.order
        }
    }

    /// Number of pages; 0 for an order above [`MAX_ORDER`].
    #[must_use]
    pub const fn pages(&self) -> u64 {
        if self.order > MAX_ORDER {
            0
        } else {
            1 << self.order
        }
    }
}

/// The translation of one page, as the DMA fast path uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The page-aligned I/O address.
    pub iova: u64,
    /// The page-aligned guest absolute address.
    pub gpa: u64,
    /// What the device may do.
    pub perm: Perm,
}

/// A mapping the IOTLB refuses.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum IotlbError {
    /// The addresses are not multiples of the size.
    #[error(
        "mapping of 2^{order} pages at I/O address {iova:#x} to {gpa:#x} is not naturally aligned"
    )]
    Misaligned {
        /// I/O address.
        iova: u64,
        /// Guest absolute address.
        gpa: u64,
        /// log2 of the pages.
        order: u8,
    },
    /// The mapping does not fit in the 64-bit address spaces.
    #[error(
        "mapping of 2^{order} pages at I/O address {iova:#x} to {gpa:#x} does not fit in 64 bits"
    )]
    TooLarge {
        /// I/O address.
        iova: u64,
        /// Guest absolute address.
        gpa: u64,
        /// log2 of the pages.
        order: u8,
    },
    /// Some page of the range is already mapped.
    #[error("mapping at I/O address {iova:#x} overlaps the mapped page {mapped:#x}")]
    Overlap {
        /// I/O address of the refused mapping.
        iova: u64,
        /// A mapped I/O page inside it.
        mapped: u64,
    },
}

/// A mapping in page numbers, as the refresh works with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageExtent {
    pub(crate) first: u64,
    pub(crate) gfn: u64,
    pub(crate) order: u8,
    pub(crate) perm: Perm,
}

impl PageExtent {
    pub(crate) const fn pages(&self) -> u64 {
        1 << self.order
    }

    pub(crate) const fn end(&self) -> u64 {
        self.first + self.pages()
    }

    const fn extent(&self) -> Extent {
        Extent {
            iova: addr_of(self.first),
            gpa: addr_of(self.gfn),
            order: self.order,
            perm: self.perm,
        }
    }
}

/// The IOTLB of one PCI function.
pub struct Iotlb {
    root: Box<Root>,
    pages: u64,
    extents: u64,
}

impl Default for Iotlb {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Iotlb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iotlb")
            .field("pages", &self.pages)
            .field("extents", &self.extents)
            .finish_non_exhaustive()
    }
}

impl Iotlb {
    /// An empty IOTLB.
    #[must_use]
    pub fn new() -> Self {
        Self {
            root: Root::boxed(),
            pages: 0,
            extents: 0,
        }
    }

    /// The translation of the page containing `iova`, if it is mapped: the
    /// DMA fast path. Allocates nothing.
    #[inline]
    #[must_use]
    pub fn lookup(&self, iova: u64) -> Option<Translation> {
        let page = page_of(iova);
        let slot = self.root.get(page);
        slot.is_mapped().then(|| Translation {
            iova: addr_of(page),
            gpa: addr_of(slot.gfn()),
            perm: slot.perm(),
        })
    }

    /// The mapping containing `iova`.
    #[must_use]
    pub fn extent(&self, iova: u64) -> Option<Extent> {
        self.page_extent(page_of(iova)).map(|e| e.extent())
    }

    /// The first mapping at or after `iova`.
    #[must_use]
    pub fn next_extent(&self, iova: u64) -> Option<Extent> {
        let page = self.next_mapped(page_of(iova), PAGE_COUNT)?;
        self.extent(addr_of(page))
    }

    /// Number of mapped pages.
    #[must_use]
    pub const fn mapped_pages(&self) -> u64 {
        self.pages
    }

    /// Number of mappings (the DMA entries they take in a VFIO container).
    #[must_use]
    pub const fn extents(&self) -> u64 {
        self.extents
    }

    /// Heap bytes of the tree (walks it; for measurements).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.root.heap_bytes()
    }

    /// Adds a mapping.
    ///
    /// # Errors
    ///
    /// [`IotlbError`] if the mapping is not naturally aligned, does not fit,
    /// or overlaps a mapped page; the IOTLB is then unchanged.
    pub fn insert(&mut self, extent: Extent) -> Result<(), IotlbError> {
        let Extent {
            iova,
            gpa,
            order,
            perm,
        } = extent;
        if order > MAX_ORDER {
            return Err(IotlbError::TooLarge { iova, gpa, order });
        }
        let mask = extent.size() - 1;
        if (iova | gpa) & mask != 0 {
            return Err(IotlbError::Misaligned { iova, gpa, order });
        }
        if iova.checked_add(mask).is_none() || gpa.checked_add(mask).is_none() {
            return Err(IotlbError::TooLarge { iova, gpa, order });
        }
        let e = PageExtent {
            first: page_of(iova),
            gfn: page_of(gpa),
            order,
            perm,
        };
        if let Some(mapped) = self.next_mapped(e.first, e.end()) {
            return Err(IotlbError::Overlap {
                iova,
                mapped: addr_of(mapped),
            });
        }
        self.insert_pages(e);
        Ok(())
    }

    /// Removes the whole mapping containing `iova`, if any, and returns it.
    /// A mapping is never split.
    pub fn remove(&mut self, iova: u64) -> Option<Extent> {
        let e = self.page_extent(page_of(iova))?;
        self.remove_pages(e);
        Some(e.extent())
    }

    /// Removes every mapping that has a page in `iova .. iova + size`
    /// (whole mappings: an invalidation never splits one). Returns how many
    /// were removed.
    pub fn invalidate(&mut self, iova: u64, size: u64) -> u64 {
        let first = page_of(iova);
        let end = iova
            .checked_add(size)
            .map_or(PAGE_COUNT, |end| page_of(end.saturating_add(PAGE_SIZE - 1)))
            .min(PAGE_COUNT)
            .max(first);
        let mut removed = 0;
        let mut from = first;
        // Each iteration removes a mapping and moves past it.
        while let Some(page) = self.next_mapped(from, end) {
            let Some(e) = self.page_extent(page) else {
                break;
            };
            self.remove_pages(e);
            removed += 1;
            from = e.end();
        }
        removed
    }

    /// Removes every mapping; returns how many there were.
    pub fn clear(&mut self) -> u64 {
        let removed = self.extents;
        self.root = Root::boxed();
        self.pages = 0;
        self.extents = 0;
        removed
    }

    /// The mapping of page `page`: its guest frame and permission.
    #[inline]
    pub(crate) fn page_mapping(&self, page: u64) -> Option<(u64, Perm)> {
        let slot = self.root.get(page);
        slot.is_mapped().then(|| (slot.gfn(), slot.perm()))
    }

    /// The whole mapping page `page` belongs to.
    pub(crate) fn page_extent(&self, page: u64) -> Option<PageExtent> {
        let slot = self.root.get(page);
        if !slot.is_mapped() {
            return None;
        }
        let order = slot.order();
        let offset = page & ((1u64 << order) - 1);
        Some(PageExtent {
            first: page - offset,
            gfn: slot.gfn().wrapping_sub(offset),
            order,
            perm: slot.perm(),
        })
    }

    /// The first mapped page in `from .. end`.
    pub(crate) fn next_mapped(&self, from: u64, end: u64) -> Option<u64> {
        self.root.next_mapped(from, end.min(PAGE_COUNT))
    }

    /// Writes the slots of a mapping the caller knows to be aligned, inside
    /// the address spaces and over unmapped pages.
    pub(crate) fn insert_pages(&mut self, e: PageExtent) {
        self.root
            .fill(e.first, e.end(), Slot::new(e.gfn, e.perm, e.order));
        self.pages = self.pages.saturating_add(e.pages());
        self.extents = self.extents.saturating_add(1);
    }

    /// Clears the slots of a whole mapping found by [`Self::page_extent`].
    pub(crate) fn remove_pages(&mut self, e: PageExtent) {
        self.root.fill(e.first, e.end(), Slot::EMPTY);
        self.pages = self.pages.saturating_sub(e.pages());
        self.extents = self.extents.saturating_sub(1);
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;

    fn ext(iova: u64, gpa: u64, order: u8, perm: Perm) -> Extent {
        Extent {
            iova,
            gpa,
            order,
            perm,
        }
    }

    #[test]
    fn slot_layout_is_pinned() {
        let s = Slot::new(0xabcde, Perm::ReadWrite, 9);
        assert_eq!(s.0, 0xabcd_e000 | (9 << 2) | 2 | 1);
        assert_eq!(
            (s.gfn(), s.perm(), s.order()),
            (0xabcde, Perm::ReadWrite, 9)
        );
        let r = Slot::new((1 << 52) - 1, Perm::ReadOnly, MAX_ORDER);
        assert_eq!(
            (r.gfn(), r.perm(), r.order()),
            ((1 << 52) - 1, Perm::ReadOnly, 51)
        );
        assert!(!Slot::EMPTY.is_mapped());
        assert_eq!(Slot::EMPTY.advance(5), Slot::EMPTY);
    }

    #[test]
    fn lookup_insert_remove() {
        let mut t = Iotlb::new();
        assert_eq!(t.lookup(0x1000), None);
        t.insert(ext(0x1_0000_4000, 0x8000, 2, Perm::ReadOnly))
            .unwrap();
        for k in 0..4u64 {
            let tr = t.lookup(0x1_0000_4000 + k * 0x1000 + 0x123).unwrap();
            assert_eq!(tr.iova, 0x1_0000_4000 + k * 0x1000);
            assert_eq!(tr.gpa, 0x8000 + k * 0x1000);
            assert_eq!(tr.perm, Perm::ReadOnly);
        }
        assert_eq!(t.lookup(0x1_0000_3fff), None);
        assert_eq!(t.lookup(0x1_0000_8000), None);
        assert_eq!((t.mapped_pages(), t.extents()), (4, 1));
        let e = t.extent(0x1_0000_6000).unwrap();
        assert_eq!(e, ext(0x1_0000_4000, 0x8000, 2, Perm::ReadOnly));
        assert_eq!(
            t.remove(0x1_0000_7000),
            Some(e),
            "removal takes the whole mapping"
        );
        assert_eq!(t.lookup(0x1_0000_4000), None);
        assert_eq!((t.mapped_pages(), t.extents()), (0, 0));
        assert_eq!(t.remove(0x1_0000_7000), None);
    }

    #[test]
    fn permissions_are_explicit() {
        let mut t = Iotlb::new();
        t.insert(ext(0, 0x1000, 0, Perm::ReadWrite)).unwrap();
        t.insert(ext(0x1000, 0x2000, 0, Perm::ReadOnly)).unwrap();
        assert_eq!(t.lookup(0).unwrap().perm, Perm::ReadWrite);
        assert_eq!(t.lookup(0x1000).unwrap().perm, Perm::ReadOnly);
    }

    #[test]
    fn insert_checks() {
        let mut t = Iotlb::new();
        assert_eq!(
            t.insert(ext(0x1000, 0, 1, Perm::ReadWrite)),
            Err(IotlbError::Misaligned {
                iova: 0x1000,
                gpa: 0,
                order: 1
            })
        );
        assert!(matches!(
            t.insert(ext(0, 0x1000, 1, Perm::ReadWrite)),
            Err(IotlbError::Misaligned { .. })
        ));
        for order in [52, 63, 64, 255] {
            assert!(matches!(
                t.insert(ext(0, 0, order, Perm::ReadWrite)),
                Err(IotlbError::TooLarge { .. })
            ));
            assert_eq!(
                (
                    ext(0, 0, order, Perm::ReadOnly).size(),
                    ext(0, 0, order, Perm::ReadOnly).pages()
                ),
                (0, 0)
            );
        }
        assert_eq!(ext(0, 0, 51, Perm::ReadOnly).size(), 1 << 63);
        t.insert(ext(0x4000, 0, 0, Perm::ReadWrite)).unwrap();
        assert_eq!(
            t.insert(ext(0, 0, 3, Perm::ReadWrite)),
            Err(IotlbError::Overlap {
                iova: 0,
                mapped: 0x4000
            })
        );
        assert_eq!(t.extents(), 1);
    }

    #[test]
    fn top_of_the_address_space() {
        let mut t = Iotlb::new();
        let top = !0xfffu64;
        t.insert(ext(top, top, 0, Perm::ReadWrite)).unwrap();
        assert_eq!(t.lookup(u64::MAX).unwrap().gpa, top);
        assert_eq!(t.next_extent(0).unwrap().iova, top);
        let big = ext(!0xf_ffffu64, 0, 8, Perm::ReadOnly);
        t.insert(big).unwrap_err(); // overlaps the top page
        t.remove(top);
        t.insert(big).unwrap();
        assert_eq!(t.lookup(u64::MAX).unwrap().gpa, 0xf_f000);
        assert_eq!(t.mapped_pages(), 256);
        assert_eq!(t.clear(), 1);
        assert_eq!(t.lookup(u64::MAX), None);
    }

    #[test]
    fn invalidate_takes_whole_mappings() {
        let mut t = Iotlb::new();
        t.insert(ext(0x10_0000, 0x20_0000, 8, Perm::ReadWrite))
            .unwrap(); // 1 MiB
        t.insert(ext(0x20_0000, 0x40_0000, 0, Perm::ReadWrite))
            .unwrap();
        t.insert(ext(0x30_0000, 0x50_0000, 0, Perm::ReadWrite))
            .unwrap();
        assert_eq!(t.invalidate(0x1f_f000, 0x2000), 2);
        assert_eq!(t.lookup(0x10_0000), None, "the 1 MiB mapping went whole");
        assert!(t.lookup(0x30_0000).is_some());
        assert_eq!(t.invalidate(0, u64::MAX), 1);
        assert_eq!(t.invalidate(u64::MAX, u64::MAX), 0);
        assert_eq!((t.mapped_pages(), t.extents()), (0, 0));
    }

    #[test]
    fn empty_subtrees_are_freed() {
        let mut t = Iotlb::new();
        let empty = t.heap_bytes();
        for k in 0..64u64 {
            t.insert(ext(k << 33, k << 12, 0, Perm::ReadWrite)).unwrap();
        }
        assert!(t.heap_bytes() > empty);
        for k in 0..64u64 {
            t.remove(k << 33);
        }
        assert_eq!(t.heap_bytes(), empty);
    }

    #[test]
    fn next_extent_skips_holes() {
        let mut t = Iotlb::new();
        t.insert(ext(0x7_0000_0000, 0, 0, Perm::ReadWrite)).unwrap();
        t.insert(ext(0x123_0000_0000, 0x1000, 0, Perm::ReadWrite))
            .unwrap();
        assert_eq!(t.next_extent(0).unwrap().iova, 0x7_0000_0000);
        assert_eq!(t.next_extent(0x7_0000_1000).unwrap().iova, 0x123_0000_0000);
        assert_eq!(t.next_extent(0x123_0000_1000), None);
    }

    /// Bytes per mapped page when the guest maps densely (what Linux's IOVA
    /// allocator produces): 4 KiB pages, each its own mapping, filling
    /// 64 MiB of I/O space.
    #[test]
    fn bytes_per_page_dense() {
        let mut t = Iotlb::new();
        let base = 0x1_0000_0000u64;
        let pages = 16384u64;
        for k in 0..pages {
            t.insert(ext(
                base + k * 0x1000,
                0x4000_0000 + k * 0x1000,
                0,
                Perm::ReadWrite,
            ))
            .unwrap();
        }
        let per_page = t.heap_bytes() as f64 / pages as f64;
        // 8 bytes of slot plus the leaves' and nodes' headers.
        assert!(per_page < 16.0, "{per_page} bytes per mapped page");
        assert!(per_page > 8.0);
    }

    /// The worst case: one mapped page per leaf.
    #[test]
    fn bytes_per_page_sparse() {
        let mut t = Iotlb::new();
        let pages = 1024u64;
        for k in 0..pages {
            t.insert(ext(0x1_0000_0000 + (k << 20), k << 12, 0, Perm::ReadWrite))
                .unwrap();
        }
        let per_page = t.heap_bytes() / pages as usize;
        assert!((2056..2200).contains(&per_page), "{per_page}");
    }
}
