//! Montgomery multiplication and squaring specialised for Cognito's N on
//! 64-bit targets.
//!
//! Finely integrated product scanning (FIPS): each output column is summed
//! into 192-bit accumulators, two of them per column so that the CPU can
//! overlap the carry chains, and the Montgomery reduction is interleaved
//! column by column. Squaring computes each cross product once and doubles
//! it. N ≡ −1 (mod 2^64), so `N' = −N⁻¹ mod 2^64 = 1` and the reduction
//! multiplier of each column is simply the column's low word.
//!
//! Constant time: loop bounds and memory accesses depend only on the (public)
//! limb count; carries are handled with arithmetic, and the final conditional
//! subtraction selects with a mask.

pub(crate) const LIMBS: usize = 48;
pub(crate) type Limbs = [u64; LIMBS];

/// A 192-bit accumulator.
#[derive(Clone, Copy)]
struct Acc {
    lo: u128,
    hi: u64,
}

impl Acc {
    const ZERO: Acc = Acc { lo: 0, hi: 0 };

    #[inline(always)]
    fn add_product(&mut self, a: u64, b: u64) {
        let (sum, overflow) = self.lo.overflowing_add(u128::from(a) * u128::from(b));
        self.lo = sum;
        self.hi = self.hi.wrapping_add(u64::from(overflow));
    }

    #[inline(always)]
    fn add(&mut self, other: &Acc) {
        let (sum, overflow) = self.lo.overflowing_add(other.lo);
        self.lo = sum;
        self.hi = self.hi.wrapping_add(other.hi).wrapping_add(u64::from(overflow));
    }

    #[inline(always)]
    fn double(&mut self) {
        self.hi = (self.hi << 1) | (self.lo >> 127) as u64;
        self.lo <<= 1;
    }

    /// Returns the low word and shifts the accumulator down by one word.
    #[inline(always)]
    fn shift_out(&mut self) -> u64 {
        let out = self.lo as u64;
        self.lo = (self.lo >> 64) | (u128::from(self.hi) << 64);
        self.hi = 0;
        out
    }
}

/// Subtracts N once if `carry` is set or `r ≥ N`, in constant time.
#[inline(always)]
fn final_subtract(r: &mut Limbs, carry: u64, n: &Limbs) {
    let mut diff = [0u64; LIMBS];
    let mut borrow = 0u64;
    for j in 0..LIMBS {
        let (x, b1) = r[j].overflowing_sub(n[j]);
        let (x, b2) = x.overflowing_sub(borrow);
        diff[j] = x;
        borrow = u64::from(b1 | b2);
    }
    let use_diff = core::hint::black_box(carry | (borrow ^ 1));
    let mask = 0u64.wrapping_sub(use_diff);
    for j in 0..LIMBS {
        r[j] = (diff[j] & mask) | (r[j] & !mask);
    }
}

/// One reduction column: fixes the column's Montgomery multiplier and
/// shifts the accumulator.
#[inline(always)]
fn reduce_column(acc: &mut Acc, m: &mut Limbs, k: usize, n: &Limbs) {
    let mk = acc.lo as u64; // times N' = 1
    m[k] = mk;
    acc.add_product(mk, n[0]);
    acc.shift_out();
}

/// `a·b·R⁻¹ mod N` for `a·b < R·N` (in particular for `a, b < N`), fully reduced.
pub(crate) fn mul(a: &Limbs, b: &Limbs, n: &Limbs) -> Limbs {
    let mut m = [0u64; LIMBS];
    let mut acc = Acc::ZERO;
    for k in 0..LIMBS {
        let mut second = Acc::ZERO;
        let mut i = 0;
        while i < k {
            acc.add_product(a[i], b[k - i]);
            second.add_product(a[i + 1], b[k - i - 1]);
            i += 2;
        }
        if i == k {
            acc.add_product(a[k], b[0]);
        }
        let mut i = 0;
        while i + 1 < k {
            acc.add_product(m[i], n[k - i]);
            second.add_product(m[i + 1], n[k - i - 1]);
            i += 2;
        }
        if i < k {
            acc.add_product(m[i], n[k - i]);
        }
        acc.add(&second);
        reduce_column(&mut acc, &mut m, k, n);
    }
    let mut r = [0u64; LIMBS];
    for k in LIMBS..2 * LIMBS - 1 {
        let mut second = Acc::ZERO;
        for i in (k - LIMBS + 1)..LIMBS {
            acc.add_product(a[i], b[k - i]);
            second.add_product(m[i], n[k - i]);
        }
        acc.add(&second);
        r[k - LIMBS] = acc.shift_out();
    }
    r[LIMBS - 1] = acc.shift_out();
    let carry = acc.lo as u64;
    final_subtract(&mut r, carry, n);
    r
}

/// Column `k` of a², without the reduction terms.
#[inline(always)]
fn square_column(a: &Limbs, k: usize, start: usize) -> Acc {
    let mut cross = Acc::ZERO;
    let mut i = start;
    while 2 * i < k {
        cross.add_product(a[i], a[k - i]);
        i += 1;
    }
    cross.double();
    if k.is_multiple_of(2) {
        cross.add_product(a[k / 2], a[k / 2]);
    }
    cross
}

/// `a²·R⁻¹ mod N` for `a < N`, fully reduced.
pub(crate) fn square(a: &Limbs, n: &Limbs) -> Limbs {
    let mut m = [0u64; LIMBS];
    let mut acc = Acc::ZERO;
    for k in 0..LIMBS {
        let cross = square_column(a, k, 0);
        let mut reduction = Acc::ZERO;
        for i in 0..k {
            reduction.add_product(m[i], n[k - i]);
        }
        acc.add(&cross);
        acc.add(&reduction);
        reduce_column(&mut acc, &mut m, k, n);
    }
    let mut r = [0u64; LIMBS];
    for k in LIMBS..2 * LIMBS - 1 {
        let cross = square_column(a, k, k - LIMBS + 1);
        let mut reduction = Acc::ZERO;
        for i in (k - LIMBS + 1)..LIMBS {
            reduction.add_product(m[i], n[k - i]);
        }
        acc.add(&cross);
        acc.add(&reduction);
        r[k - LIMBS] = acc.shift_out();
    }
    r[LIMBS - 1] = acc.shift_out();
    let carry = acc.lo as u64;
    final_subtract(&mut r, carry, n);
    r
}
