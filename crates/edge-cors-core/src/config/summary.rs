//! What a loaded configuration does, in words: the policy list the filter logs at load and the
//! per-policy account the checker prints. Both hosts and the checker format it here.

use super::compile::Config;
use super::raw::read_raw;

/// The policies as the filter logs them at load:
/// `app (3 origin entries, mode=enforce, enforce_percent=100), admin (...)`.
pub fn policy_list(config: &Config) -> String {
    config
        .cors
        .list
        .iter()
        .zip(&config.settings)
        .map(|(p, s)| {
            format!(
                "{} ({} origin entries, mode={}, enforce_percent={})",
                p.name,
                p.origin_entries(),
                s.mode.as_str(),
                s.enforce_percent
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The checker's account of a valid configuration compiled from `bytes`: a head line
/// `{prefix}valid: N policies, preflight status S` and one line per policy, what the filter
/// will do, policy by policy. The compiled [`Config`] says what was accepted; the lists are
/// shown as written.
pub fn valid_report(prefix: &str, config: &Config, bytes: &[u8]) -> String {
    let raw = read_raw(bytes).0.unwrap_or_default();
    let n = config.cors.list.len();
    let mut out = format!(
        "{prefix}valid: {n} polic{}, preflight status {}\n",
        if n == 1 { "y" } else { "ies" },
        config.cors.preflight_status
    );
    for (policy, rp) in config.cors.list.iter().zip(raw.policies.iter()) {
        let origins = match policy.origin_entries() {
            _ if policy.allows_any_origin() => "origins any (*)".to_string(),
            1 => "origins 1 entry".to_string(),
            n => format!("origins {n} entries"),
        };
        let mut parts = Vec::new();
        if !rp.match_route_names.is_empty() {
            parts.push(format!("routes {}", join(&rp.match_route_names)));
        }
        parts.extend([
            format!("hosts {}", or_any(&rp.match_hosts)),
            format!("paths {}", or_any(&rp.match_path_prefixes)),
            origins,
            format!("credentials {}", if policy.credentials { "yes" } else { "no" }),
        ]);
        for (label, list) in [
            ("methods", &rp.allow_methods),
            ("headers", &rp.allow_headers),
            ("expose", &rp.expose_headers),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label} {}", join(list)));
            }
        }
        if let Some(max_age) = &rp.max_age {
            parts.push(format!("max-age {}", max_age.text));
        }
        if rp.allow_private_network_access {
            parts.push("private network access".to_string());
        }
        if let Some(source) = &rp.allow_origins_from {
            parts.push(format!("origins also from {}", super::registry::describe(source)));
        }
        out.push_str(&format!("  - {}: {}\n", policy.name, parts.join("; ")));
    }
    out
}

fn or_any(entries: &[(String, String)]) -> String {
    if entries.is_empty() {
        "any".to_string()
    } else {
        join(entries)
    }
}

fn join(entries: &[(String, String)]) -> String {
    entries.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(",")
}
