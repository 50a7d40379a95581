//! Unsigned decimal numbers as edge-cors reads them from headers, origins and its own shared
//! state: ASCII digits only, no sign, no spaces, up to `u64::MAX`. One reader for every width:
//! `str::parse` would also take a leading `+`, and is compiled once per integer type.

/// The value of `s` when it is one or more ASCII digits whose value fits a `u64`.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// [`decimal`], when the value fits a `u16` (ports, octets, HTTP statuses).
pub(crate) fn decimal_u16(s: &str) -> Option<u16> {
    decimal(s).and_then(|n| u16::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn only_plain_digits_that_fit_read_as_a_number() {
        for (s, want) in [
            ("0", Some(0)),
            ("007", Some(7)),
            ("65535", Some(65_535)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("", None),
            ("+1", None),
            ("-1", None),
            (" 1", None),
            ("1 ", None),
            ("1a", None),
            ("١", None),
            ("1.0", None),
        ] {
            assert_eq!(decimal(s), want, "{s:?}");
        }
        assert_eq!(decimal_u16("65535"), Some(65_535));
        assert_eq!(decimal_u16("65536"), None);
    }
}
