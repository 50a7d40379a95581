//! Domains under which a wildcard origin would trust strangers.
//!
//! `https://*.com` or `https://*.github.io` lets anyone who registers a name there read
//! responses. The full Public Suffix List is too big to ship in every VM, so this is a
//! deliberate subset: every single-label suffix (all TLDs) is refused by rule, plus the
//! multi-label registry and hosting suffixes most often seen in CORS configurations.

/// Multi-label public suffixes (registries and shared hosting) refused as wildcard bases.
const MULTI_LABEL: &[&str] = &[
    // Country-code second levels.
    "co.uk",
    "org.uk",
    "me.uk",
    "ltd.uk",
    "plc.uk",
    "net.uk",
    "ac.uk",
    "gov.uk",
    "nhs.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "id.au",
    "co.nz",
    "org.nz",
    "net.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "go.jp",
    "co.kr",
    "or.kr",
    "com.cn",
    "net.cn",
    "org.cn",
    "gov.cn",
    "com.hk",
    "org.hk",
    "com.tw",
    "org.tw",
    "com.sg",
    "com.my",
    "co.in",
    "net.in",
    "org.in",
    "firm.in",
    "gen.in",
    "ind.in",
    "co.id",
    "or.id",
    "web.id",
    "com.br",
    "net.br",
    "org.br",
    "gov.br",
    "com.ar",
    "com.mx",
    "org.mx",
    "com.co",
    "com.pe",
    "com.ve",
    "com.uy",
    "co.za",
    "org.za",
    "web.za",
    "com.ng",
    "co.ke",
    "or.ke",
    "com.eg",
    "com.sa",
    "com.tr",
    "org.tr",
    "net.tr",
    "co.il",
    "org.il",
    "com.ua",
    "org.ua",
    "com.pl",
    "net.pl",
    "org.pl",
    "co.at",
    "or.at",
    "com.es",
    "org.es",
    "com.pt",
    "com.gr",
    "co.th",
    "in.th",
    "com.vn",
    "com.ph",
    "com.pk",
    "com.bd",
    // Shared hosting and platforms where anyone can obtain a subdomain.
    "github.io",
    "githubusercontent.com",
    "gitlab.io",
    "herokuapp.com",
    "herokudns.com",
    "netlify.app",
    "vercel.app",
    "now.sh",
    "pages.dev",
    "workers.dev",
    "web.app",
    "firebaseapp.com",
    "appspot.com",
    "cloudfront.net",
    "azurewebsites.net",
    "azurestaticapps.net",
    "blob.core.windows.net",
    "cloudapp.net",
    "s3.amazonaws.com",
    "elasticbeanstalk.com",
    "amplifyapp.com",
    "onrender.com",
    "fly.dev",
    "glitch.me",
    "repl.co",
    "ngrok.io",
    "ngrok-free.app",
    "trycloudflare.com",
    "blogspot.com",
    "wordpress.com",
    "wixsite.com",
    "surge.sh",
    "bitbucket.io",
    "readthedocs.io",
    "pythonanywhere.com",
    "deno.dev",
    "codesandbox.io",
    "stackblitz.io",
];

/// Is `domain` a public suffix, i.e. may `*.domain` not be used as an origin wildcard?
pub fn is_public_suffix(domain: &str) -> bool {
    !domain.contains('.') || MULTI_LABEL.contains(&domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn top_level_domains_and_shared_hosting_are_public_suffixes() {
        for d in ["com", "io", "localhost", "co.uk", "github.io", "vercel.app"] {
            assert!(is_public_suffix(d), "{d}");
        }
        for d in ["example.com", "example.co.uk", "app.github.io"] {
            assert!(!is_public_suffix(d), "{d}");
        }
    }
}
