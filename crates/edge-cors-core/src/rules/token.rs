//! RFC 9110 §5.6.2 `token`: the grammar of method names and header field names.

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// `token = 1*tchar`
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn tokens_are_non_empty_runs_of_tchars() {
        assert!(is_token("GET"));
        assert!(is_token("x-custom_header.v2"));
        assert!(!is_token(""));
        assert!(!is_token("GET POST"));
        assert!(!is_token("a,b"));
        assert!(!is_token("caf\u{e9}"));
        assert!(!is_token("a\r\nb"));
    }
}
