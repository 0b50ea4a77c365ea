//! TCP sequence numbers: 32-bit counters that wrap, so "before" and "after" are
//! decided by the signed distance between two numbers, never by `u32` order
//! (RFC 9293 section 3.4: "all arithmetic dealing with sequence numbers must be
//! performed modulo 2**32"; RFC 1982 serial number arithmetic with SERIAL_BITS = 32).

use std::cmp::Ordering;
use std::fmt;

/// A sequence or acknowledgement number.
///
/// `PartialOrd` follows RFC 1982 section 3.2: `a < b` when `b` is less than 2^31
/// ahead of `a`. Two numbers exactly 2^31 apart are unordered (`partial_cmp` gives
/// `None`), as the RFC leaves that comparison undefined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The number `n` octets further on, wrapping at 2^32.
    pub fn plus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// The number `n` octets earlier, wrapping at 2^32.
    pub fn minus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n))
    }

    /// Signed distance `self - earlier`: positive when `self` is after `earlier`.
    pub fn since(self, earlier: SeqNum) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Unsigned offset from `base` (a relative sequence number, as Wireshark shows).
    pub fn offset_from(self, base: SeqNum) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    pub fn before(self, other: SeqNum) -> bool {
        self.partial_cmp(&other) == Some(Ordering::Less)
    }

    pub fn after(self, other: SeqNum) -> bool {
        self.partial_cmp(&other) == Some(Ordering::Greater)
    }

    /// The later of two numbers (`self` when they are unordered).
    pub fn max(self, other: SeqNum) -> SeqNum {
        if other.after(self) {
            other
        } else {
            self
        }
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        match self.since(*other) {
            0 => Some(Ordering::Equal),
            i32::MIN => None,
            d if d > 0 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_order() {
        assert!(SeqNum(1).before(SeqNum(2)));
        assert!(SeqNum(2).after(SeqNum(1)));
        assert!(SeqNum(7) <= SeqNum(7));
        assert_eq!(SeqNum(5).since(SeqNum(2)), 3);
    }

    #[test]
    fn order_across_the_wrap() {
        // An ISN 10 octets before 2^32: 100 octets later the raw number is 90.
        let isn = SeqNum(u32::MAX - 9);
        let later = isn.plus(100);
        assert_eq!(later, SeqNum(90));
        assert!(isn.before(later));
        assert!(later.after(isn));
        assert!(isn < later);
        assert_eq!(later.since(isn), 100);
        assert_eq!(later.offset_from(isn), 100);
        assert_eq!(later.minus(100), isn);
        assert_eq!(isn.max(later), later);
        assert_eq!(later.max(isn), later);
    }

    #[test]
    fn half_the_space_apart_is_unordered() {
        // RFC 1982 section 3.2: i1 + 2^31 is neither before nor after i1.
        let a = SeqNum(17);
        let b = a.plus(1 << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert!(!a.before(b) && !a.after(b) && !b.before(a) && !b.after(a));
        assert_eq!(a.max(b), a);
    }

    #[test]
    fn just_under_half_is_still_ordered() {
        let a = SeqNum(0x8000_0010);
        assert!(a.before(a.plus((1 << 31) - 1)));
        assert!(a.after(a.plus((1 << 31) + 1)));
    }
}
