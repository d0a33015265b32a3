//! Arithmetic modulo Cognito's 3072-bit prime N, in Montgomery form.
//!
//! Values are crypto-bigint `ConstMontyForm`s. On 64-bit targets the hot
//! operations (multiplication and squaring) use a kernel specialised for N
//! (`kernel.rs`), about 1.3–1.5× faster than the generic one; elsewhere they
//! use crypto-bigint's. Exponentiation is a fixed-window method here (generic
//! bases) or a precomputed comb (`comb.rs`, base g).
//!
//! Every operation on secret values is constant-time with respect to the
//! secret: exponents have a fixed, public width, table lookups scan every
//! entry, and no branch depends on secret data.

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{CtAssign, CtEq, Limb, U256, U3072, Uint, const_monty_params};
use zeroize::Zeroize;

use crate::encoding::{N_BYTES, PublicValue};

/// RFC 3526's 3072-bit MODP prime (also RFC 5054's 3072-bit group).
pub const N_HEX: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718",
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33",
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7",
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864",
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2",
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff",
);

/// `k = H(PAD(N) ‖ PAD(g))`, Cognito's multiplier (not RFC 5054's).
pub const K_HEX: &str = "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6";

const_monty_params!(CognitoN, U3072, N_HEX, "Cognito's 3072-bit group modulus N");

/// An element of Z/NZ in Montgomery form.
pub(crate) type Fe = ConstMontyForm<CognitoN, { U3072::LIMBS }>;

/// Number of 64-bit limbs in the exponent `a + u·x` (1088 bits ≥ 1025).
pub(crate) const WIDE_EXP_LIMBS: usize = 17;
/// A public upper bound on the bit length of `a + u·x` (a < 2^1024, u·x < 2^512).
pub(crate) const WIDE_EXP_BITS: u32 = 1025;

pub(crate) const G: Fe = Fe::new(&U3072::from_u8(2));
pub(crate) const K: Fe = Fe::new(&U256::from_be_hex(K_HEX).resize::<{ U3072::LIMBS }>());

#[cfg(target_pointer_width = "64")]
const N_LIMBS: crate::kernel::Limbs = *U3072::from_be_hex(N_HEX).as_words();

/// `a·b mod N`.
#[inline]
pub(crate) fn mul(a: &Fe, b: &Fe) -> Fe {
    #[cfg(target_pointer_width = "64")]
    {
        let r = crate::kernel::mul(a.as_montgomery().as_words(), b.as_montgomery().as_words(), &N_LIMBS);
        Fe::from_montgomery(Uint::from_words(r))
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        a.mul(b)
    }
}

/// `a² mod N`.
#[inline]
pub(crate) fn square(a: &Fe) -> Fe {
    #[cfg(target_pointer_width = "64")]
    {
        let r = crate::kernel::square(a.as_montgomery().as_words(), &N_LIMBS);
        Fe::from_montgomery(Uint::from_words(r))
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        a.square()
    }
}

pub(crate) fn to_fe(value: &PublicValue) -> Fe {
    Fe::new(&U3072::from_be_slice(value.as_be_bytes()))
}

pub(crate) fn fe_to_bytes(fe: &Fe) -> [u8; N_BYTES] {
    let mut uint = fe.retrieve();
    let encoded = uint.to_be_bytes();
    let mut out = [0u8; N_BYTES];
    out.copy_from_slice(encoded.as_ref());
    uint.zeroize();
    out
}

pub(crate) fn fe_is_zero(fe: &Fe) -> bool {
    bool::from(fe.as_montgomery().is_zero())
}

/// Constant-time `entries[index]`: every entry is read.
#[inline(always)]
pub(crate) fn ct_lookup<const E: usize>(entries: &[U3072; E], index: u32) -> U3072 {
    let mut out = entries[0];
    for (i, entry) in entries.iter().enumerate().skip(1) {
        out.ct_assign(entry, (i as u32).ct_eq(&index));
    }
    out
}

/// Bit `pos` of `e` (zero beyond its width). `pos` is public; the bit is secret.
#[inline(always)]
pub(crate) fn bit<const L: usize>(e: &Uint<L>, pos: u32) -> u32 {
    let limb = (pos / Limb::BITS) as usize;
    if limb >= L {
        return 0;
    }
    ((e.as_limbs()[limb].0 >> (pos % Limb::BITS)) & 1) as u32
}

/// `base^e mod N` for a secret exponent of at most `bits` bits (a public
/// bound: the time depends on `bits`, never on `e`). Fixed windows of `W`
/// bits with a constant-time table lookup; `W` is 4 or 5.
fn pow_window<const L: usize, const W: u32, const E: usize>(base: &Fe, e: &Uint<L>, bits: u32) -> Fe {
    debug_assert_eq!(1usize << W, E);
    let mut table = [*Fe::ONE.as_montgomery(); E];
    table[1] = *base.as_montgomery();
    let mut power = *base;
    for entry in table.iter_mut().skip(2) {
        power = mul(&power, base);
        *entry = *power.as_montgomery();
    }
    let windows = bits.div_ceil(W);
    let mut acc = Fe::ONE;
    for w in (0..windows).rev() {
        if w != windows - 1 {
            for _ in 0..W {
                acc = square(&acc);
            }
        }
        let mut index = 0u32;
        for i in 0..W {
            index |= bit(e, w * W + i) << i;
        }
        acc = mul(&acc, &Fe::from_montgomery(ct_lookup(&table, index)));
    }
    power.zeroize_montgomery();
    table.zeroize();
    acc
}

trait ZeroizeMontgomery {
    fn zeroize_montgomery(&mut self);
}

impl ZeroizeMontgomery for Fe {
    fn zeroize_montgomery(&mut self) {
        self.as_montgomery_mut().zeroize();
    }
}

/// `base^e mod N` for a secret exponent of at most `bits` bits (public bound).
pub(crate) fn pow_bounded<const L: usize>(base: &Fe, e: &Uint<L>, bits: u32) -> Fe {
    if bits > 512 { pow_window::<L, 5, 32>(base, e, bits) } else { pow_window::<L, 4, 16>(base, e, bits) }
}

/// `g^e mod N` for a secret 1024-bit exponent.
pub(crate) fn g_pow_1024(e: &crypto_bigint::U1024) -> Fe {
    #[cfg(feature = "precomputed-tables")]
    {
        crate::comb::g_pow_1024(e)
    }
    #[cfg(not(feature = "precomputed-tables"))]
    {
        pow_bounded(&G, e, 1024)
    }
}

/// `g^e mod N` for a secret 256-bit exponent.
pub(crate) fn g_pow_256(e: &U256) -> Fe {
    #[cfg(feature = "precomputed-tables")]
    {
        crate::comb::g_pow_256(e)
    }
    #[cfg(not(feature = "precomputed-tables"))]
    {
        pow_bounded(&G, e, 256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fe_from(bytes: &[u8]) -> Fe {
        let mut be = [0u8; N_BYTES];
        be[N_BYTES - bytes.len()..].copy_from_slice(bytes);
        Fe::new(&U3072::from_be_slice(&be))
    }

    #[test]
    fn kernel_handles_extremes() {
        let n_minus_1 = Fe::ZERO.sub(&Fe::ONE);
        for a in [Fe::ZERO, Fe::ONE, n_minus_1, G, K] {
            for b in [Fe::ZERO, Fe::ONE, n_minus_1, G, K] {
                assert_eq!(mul(&a, &b), a.mul(&b));
            }
            assert_eq!(square(&a), a.square());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn kernel_matches_crypto_bigint(a in proptest::collection::vec(any::<u8>(), 1..=384), b in proptest::collection::vec(any::<u8>(), 1..=384)) {
            let (a, b) = (fe_from(&a), fe_from(&b));
            prop_assert_eq!(mul(&a, &b), a.mul(&b));
            prop_assert_eq!(square(&a), a.square());
        }

        #[test]
        fn windowed_pow_matches_crypto_bigint(base in proptest::collection::vec(any::<u8>(), 1..=384), e in any::<[u8; 32]>(), wide in proptest::collection::vec(any::<u8>(), 136)) {
            let base = fe_from(&base);
            let e256 = U256::from_be_slice(&e);
            prop_assert_eq!(pow_bounded(&base, &e256, 256), base.pow(&e256));
            let mut wide_bytes = [0u8; 136];
            wide_bytes.copy_from_slice(&wide);
            wide_bytes[..7].fill(0);
            wide_bytes[7] &= 1; // 1025 bits
            let e_wide = Uint::<WIDE_EXP_LIMBS>::from_be_slice(&wide_bytes);
            prop_assert_eq!(pow_bounded(&base, &e_wide, WIDE_EXP_BITS), base.pow(&e_wide));
        }
    }
}
