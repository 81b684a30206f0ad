//! `allowed_outbound_hosts`: the origins a function may send HTTP requests to.
//!
//! The syntax is Spin's: every entry is `<scheme>://<host>[:<port>]`, where each part may
//! be `*`, and the host may also be `*.<domain>` (every subdomain of `<domain>`, at any
//! depth, but not `<domain>` itself). Entries are parsed once, when the manifest is
//! loaded; [`AllowedHosts::allows`] then answers, per request, whether the request's
//! scheme, host and port match at least one entry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A function's `allowed_outbound_hosts`, parsed.
///
/// An empty list (the default, [`AllowedHosts::none`]) allows no outbound request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
}

impl AllowedHosts {
    /// Parses the manifest's entries; the error names the entry and what is wrong.
    ///
    /// Each entry is `<scheme>://<host>[:<port>]` with an optional trailing `/`:
    ///
    /// - scheme: `http`, `https` or `*` (either);
    /// - host: a DNS name, an IPv4 address, an IPv6 address in brackets (`[::1]`), `*`
    ///   (any host) or `*.<domain>` (any subdomain of `<domain>`, not `<domain>` itself);
    /// - port: a number from 1 to 65535, `*` (any port), or nothing: then the scheme's
    ///   default port (80 for `http`, 443 for `https`; with scheme `*`, each scheme's own).
    ///
    /// Schemes and hosts compare case-insensitively. Paths, queries, fragments and
    /// user information are rejected: the list grants origins, not URLs.
    ///
    /// # Errors
    ///
    /// The first entry that does not follow these rules, as a [`HostPatternError`].
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedHosts, HostPatternError> {
        let patterns = entries
            .iter()
            .map(|entry| HostPattern::parse(entry.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowedHosts { patterns })
    }

    /// No outbound request is allowed (the default).
    pub fn none() -> AllowedHosts {
        AllowedHosts::default()
    }

    /// Whether a request to `uri` (absolute: scheme and authority) is allowed.
    ///
    /// A URI without a scheme or host, with a scheme other than `http`/`https`, with user
    /// information (`user@`), with a malformed port, or with a host that is neither a DNS
    /// name nor an IP address is never allowed, whatever the entries say.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let Some(target) = Target::from_uri(uri) else {
            return false;
        };
        self.patterns.iter().any(|pattern| pattern.matches(&target))
    }

    /// True when no entry was given.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// What is wrong with an `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPatternError {
    /// The entry is empty (or only whitespace).
    #[error("allowed_outbound_hosts has an empty entry")]
    Empty,
    /// The entry has no `<scheme>://`.
    #[error(
        "allowed_outbound_hosts entry {entry:?} has no scheme: write `<scheme>://<host>[:<port>]`, \
         e.g. \"https://api.example.com\" (\"*://*:*\" allows every host)"
    )]
    MissingScheme {
        /// The entry as written.
        entry: String,
    },
    /// The scheme is not `http`, `https` or `*`.
    #[error(
        "allowed_outbound_hosts entry {entry:?}: scheme {scheme:?} is not supported \
         (use `http`, `https` or `*`)"
    )]
    UnsupportedScheme {
        /// The entry as written.
        entry: String,
        /// The scheme found.
        scheme: String,
    },
    /// The entry has user information (`user:password@`).
    #[error(
        "allowed_outbound_hosts entry {entry:?} has user information (`…@`): \
         give only scheme, host and port"
    )]
    HasUserinfo {
        /// The entry as written.
        entry: String,
    },
    /// The entry has a path (a trailing `/` alone is fine).
    #[error(
        "allowed_outbound_hosts entry {entry:?} has a path: give only scheme, host and port \
         (the list grants origins, not URLs)"
    )]
    HasPath {
        /// The entry as written.
        entry: String,
    },
    /// The entry has a query (`?…`).
    #[error("allowed_outbound_hosts entry {entry:?} has a query: give only scheme, host and port")]
    HasQuery {
        /// The entry as written.
        entry: String,
    },
    /// The entry has a fragment (`#…`).
    #[error(
        "allowed_outbound_hosts entry {entry:?} has a fragment: give only scheme, host and port"
    )]
    HasFragment {
        /// The entry as written.
        entry: String,
    },
    /// The entry has no host (`https://`, `https://:8080`).
    #[error("allowed_outbound_hosts entry {entry:?} has no host")]
    MissingHost {
        /// The entry as written.
        entry: String,
    },
    /// `*` appears in the host other than as the whole host or as its first label.
    #[error(
        "allowed_outbound_hosts entry {entry:?}: host {host:?}: `*` may only be the whole host \
         or the first label, as in `*.example.com`"
    )]
    InvalidWildcard {
        /// The entry as written.
        entry: String,
        /// The host part of the entry.
        host: String,
    },
    /// A bracketed host is not an IPv6 address, or the brackets are malformed.
    #[error(
        "allowed_outbound_hosts entry {entry:?}: host {host:?} is not an IPv6 address in \
         brackets, as in `http://[::1]:8080`"
    )]
    InvalidIpv6 {
        /// The entry as written.
        entry: String,
        /// The host part of the entry.
        host: String,
    },
    /// An IPv6 address without brackets.
    #[error(
        "allowed_outbound_hosts entry {entry:?}: an IPv6 address must be in brackets, \
         as in `http://[::1]:8080`"
    )]
    UnbracketedIpv6 {
        /// The entry as written.
        entry: String,
    },
    /// The host is not a DNS name (nor an IP address).
    #[error("allowed_outbound_hosts entry {entry:?}: host {host:?} is not a host name: {reason}")]
    InvalidHostName {
        /// The entry as written.
        entry: String,
        /// The host part of the entry.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Spin's `self` / `self.alt` (requests to the application itself).
    #[error(
        "allowed_outbound_hosts entry {entry:?}: `self` (Spin's requests to the application \
         itself) is not supported: name the host and port"
    )]
    SelfHost {
        /// The entry as written.
        entry: String,
    },
    /// The port is not a number from 1 to 65535, nor `*`.
    #[error(
        "allowed_outbound_hosts entry {entry:?}: port {port:?} is not a number from 1 to 65535 \
         or `*`"
    )]
    InvalidPort {
        /// The entry as written.
        entry: String,
        /// The port part of the entry.
        port: String,
    },
    /// A port range (`8000..9000`), which Spin has and Portico does not.
    #[error(
        "allowed_outbound_hosts entry {entry:?}: port ranges ({port:?}) are not supported: \
         give one entry per port, or `*`"
    )]
    PortRange {
        /// The entry as written.
        entry: String,
        /// The port part of the entry.
        port: String,
    },
}

/// The two schemes outbound requests can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// `http` or `https`, in any case.
    fn parse(scheme: &str) -> Option<Scheme> {
        if scheme.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if scheme.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// One parsed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPattern {
    /// `None`: any scheme (`*`).
    scheme: Option<Scheme>,
    host: HostMatch,
    port: PortMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    /// `*`.
    Any,
    /// A DNS name, lowercase, without a trailing dot.
    Name(String),
    /// `*.example.com`, kept as `.example.com` (lowercase): names ending in it.
    Subdomains(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortMatch {
    /// `*`.
    Any,
    /// A number, or no port with a concrete scheme (its default port).
    Exact(u16),
    /// No port with scheme `*`: the request's scheme's default port.
    SchemeDefault,
}

impl HostPattern {
    fn parse(entry: &str) -> Result<HostPattern, HostPatternError> {
        let owned = || entry.to_owned();
        let text = entry.trim();
        if text.is_empty() {
            return Err(HostPatternError::Empty);
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(HostPatternError::MissingScheme { entry: owned() });
        };
        let scheme = parse_scheme(entry, scheme)?;

        // The authority ends at the first `/`, `?` or `#`; after it only a lone `/` may follow.
        let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if !tail.is_empty() && tail != "/" {
            return Err(if tail.contains('#') {
                HostPatternError::HasFragment { entry: owned() }
            } else if tail.contains('?') {
                HostPatternError::HasQuery { entry: owned() }
            } else {
                HostPatternError::HasPath { entry: owned() }
            });
        }
        if authority.contains('@') {
            return Err(HostPatternError::HasUserinfo { entry: owned() });
        }

        let (host, port) = split_host_port(authority).map_err(|problem| match problem {
            SplitProblem::Unbracketed => HostPatternError::UnbracketedIpv6 { entry: owned() },
            SplitProblem::Brackets => HostPatternError::InvalidIpv6 {
                entry: owned(),
                host: authority.to_owned(),
            },
        })?;
        let host = match host {
            RawHost::Bracketed(inside) => match inside.parse::<Ipv6Addr>() {
                Ok(ip) => HostMatch::Ip(IpAddr::V6(ip)),
                Err(_) => {
                    return Err(HostPatternError::InvalidIpv6 {
                        entry: owned(),
                        host: format!("[{inside}]"),
                    });
                }
            },
            RawHost::Plain(host) => parse_host(entry, host)?,
        };
        let port = match port {
            None => match scheme {
                Some(scheme) => PortMatch::Exact(scheme.default_port()),
                None => PortMatch::SchemeDefault,
            },
            Some("*") => PortMatch::Any,
            Some(port) if port.contains("..") => {
                return Err(HostPatternError::PortRange {
                    entry: owned(),
                    port: port.to_owned(),
                });
            }
            Some(port) => match parse_port(port) {
                Some(number) => PortMatch::Exact(number),
                None => {
                    return Err(HostPatternError::InvalidPort {
                        entry: owned(),
                        port: port.to_owned(),
                    });
                }
            },
        };
        Ok(HostPattern { scheme, host, port })
    }

    fn matches(&self, target: &Target) -> bool {
        let scheme = self.scheme.is_none_or(|scheme| scheme == target.scheme);
        let host = match (&self.host, &target.host) {
            (HostMatch::Any, _) => true,
            (HostMatch::Name(name), TargetHost::Name(target)) => name == target,
            // `suffix` starts with `.` and names have no empty labels, so this needs at
            // least one label in front: the bare domain does not match.
            (HostMatch::Subdomains(suffix), TargetHost::Name(target)) => target.ends_with(suffix),
            (HostMatch::Ip(ip), TargetHost::Ip(target)) => ip == target,
            _ => false,
        };
        let port = match self.port {
            PortMatch::Any => true,
            PortMatch::Exact(port) => port == target.port,
            PortMatch::SchemeDefault => target.port == target.scheme.default_port(),
        };
        scheme && host && port
    }
}

/// The scheme of an entry: `http`, `https` (any case), or `*` (`None`: either).
fn parse_scheme(entry: &str, scheme: &str) -> Result<Option<Scheme>, HostPatternError> {
    match scheme {
        "" => Err(HostPatternError::MissingScheme {
            entry: entry.to_owned(),
        }),
        "*" => Ok(None),
        other => match Scheme::parse(other) {
            Some(scheme) => Ok(Some(scheme)),
            None => Err(HostPatternError::UnsupportedScheme {
                entry: entry.to_owned(),
                scheme: other.to_owned(),
            }),
        },
    }
}

/// The host part of an entry, not bracketed: `*`, `*.domain`, an IPv4 address or a name.
fn parse_host(entry: &str, host: &str) -> Result<HostMatch, HostPatternError> {
    if host.is_empty() {
        return Err(HostPatternError::MissingHost {
            entry: entry.to_owned(),
        });
    }
    if host == "*" {
        return Ok(HostMatch::Any);
    }
    let invalid_wildcard = || HostPatternError::InvalidWildcard {
        entry: entry.to_owned(),
        host: host.to_owned(),
    };
    let invalid_name = |reason| HostPatternError::InvalidHostName {
        entry: entry.to_owned(),
        host: host.to_owned(),
        reason,
    };
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            return Err(invalid_wildcard());
        }
        let domain = canonical_name(domain).map_err(invalid_name)?;
        return Ok(HostMatch::Subdomains(format!(".{domain}")));
    }
    if host.contains('*') {
        return Err(invalid_wildcard());
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(HostMatch::Ip(IpAddr::V4(ip)));
    }
    let name = canonical_name(host).map_err(invalid_name)?;
    if name == "self" || name == "self.alt" {
        return Err(HostPatternError::SelfHost {
            entry: entry.to_owned(),
        });
    }
    Ok(HostMatch::Name(name))
}

/// A port: decimal digits only (no sign), 1 to 65535.
fn parse_port(port: &str) -> Option<u16> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse::<u16>().ok().filter(|&port| port != 0)
}

/// A host as written in an authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawHost<'a> {
    /// Between `[` and `]` (the brackets removed).
    Bracketed(&'a str),
    /// Anything else.
    Plain(&'a str),
}

/// Why an authority could not be split into host and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SplitProblem {
    /// More than one `:` outside brackets: an IPv6 address without them.
    Unbracketed,
    /// `[` without `]`, or something other than `:port` after `]`.
    Brackets,
}

/// Splits `host[:port]` (userinfo already excluded); the port is the text after `:`,
/// unchecked, and may be empty.
fn split_host_port(authority: &str) -> Result<(RawHost<'_>, Option<&str>), SplitProblem> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']').ok_or(SplitProblem::Brackets)?;
        return match after {
            "" => Ok((RawHost::Bracketed(inside), None)),
            after => match after.strip_prefix(':') {
                Some(port) => Ok((RawHost::Bracketed(inside), Some(port))),
                None => Err(SplitProblem::Brackets),
            },
        };
    }
    match authority.split_once(':') {
        None => Ok((RawHost::Plain(authority), None)),
        Some((_, port)) if port.contains(':') => Err(SplitProblem::Unbracketed),
        Some((host, port)) => Ok((RawHost::Plain(host), Some(port))),
    }
}

/// A DNS name in canonical form (lowercase, one trailing dot dropped), or why it is not one.
///
/// Labels may hold ASCII letters, digits, `-` and `_`; a name whose last label is a number
/// (`10.0.0.256`, `127.1`, `0x7f`) is refused, as resolvers may read it as an IPv4 address.
fn canonical_name(name: &str) -> Result<String, &'static str> {
    if !name.is_ascii() {
        return Err(
            "it is not ASCII: write an internationalised name in its punycode (`xn--…`) form",
        );
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("only letters, digits, `-`, `_` and `.` may appear in it");
        }
        last = label;
    }
    if is_numeric_label(last) {
        return Err("it ends in a number but is not an IPv4 address");
    }
    Ok(name.to_ascii_lowercase())
}

/// Decimal digits, or `0x` and hex digits: what resolvers may take for part of an address.
fn is_numeric_label(label: &str) -> bool {
    let hex = label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Where a request goes, as far as the allow list cares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    scheme: Scheme,
    host: TargetHost,
    /// The explicit port, or the scheme's default.
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TargetHost {
    /// Lowercase, without a trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl Target {
    /// `None` when `uri` is not something an entry could allow.
    fn from_uri(uri: &http::Uri) -> Option<Target> {
        let scheme = Scheme::parse(uri.scheme_str()?)?;
        let authority = uri.authority()?.as_str();
        if authority.contains('@') {
            return None;
        }
        let (host, port) = split_host_port(authority).ok()?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => parse_port(port)?,
        };
        let host = match host {
            RawHost::Bracketed(inside) => TargetHost::Ip(IpAddr::V6(inside.parse().ok()?)),
            RawHost::Plain(host) => match host.parse::<Ipv4Addr>() {
                Ok(ip) => TargetHost::Ip(IpAddr::V4(ip)),
                Err(_) => TargetHost::Name(canonical_name(host).ok()?),
            },
        };
        Some(Target { scheme, host, port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries).expect("entries parse")
    }

    fn uri(text: &str) -> http::Uri {
        text.parse().expect("test URI parses")
    }

    /// Asserts, for each `(uri, expected)`, whether `entries` allow it.
    #[track_caller]
    fn check(entries: &[&str], cases: &[(&str, bool)]) {
        let allowed = hosts(entries);
        for &(target, expected) in cases {
            assert_eq!(
                allowed.allows(&uri(target)),
                expected,
                "{entries:?} allows {target}?"
            );
        }
    }

    fn error(entry: &str) -> HostPatternError {
        match AllowedHosts::parse(&[entry]) {
            Ok(parsed) => panic!("{entry:?} parsed as {parsed:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn exact_host() {
        check(
            &["https://api.example.com"],
            &[
                ("https://api.example.com", true),
                ("https://api.example.com/", true),
                ("https://api.example.com/v1/items?key=secret", true),
                ("https://api.example.com:443/v1", true),
                ("http://api.example.com", false),
                ("https://api.example.com:8443", false),
                ("https://example.com", false),
                ("https://www.api.example.com", false),
                ("https://evilapi.example.com", false),
                ("https://api.example.com.evil.org", false),
                ("https://api.example.co", false),
            ],
        );
    }

    #[test]
    fn default_ports_both_ways() {
        check(
            &["http://a.example"],
            &[
                ("http://a.example", true),
                ("http://a.example:80", true),
                ("http://a.example:8080", false),
                ("http://a.example:443", false),
            ],
        );
        check(
            &["http://a.example:80"],
            &[("http://a.example", true), ("http://a.example:80/x", true)],
        );
        check(
            &["https://a.example:443"],
            &[
                ("https://a.example", true),
                ("https://a.example:443", true),
                ("https://a.example:80", false),
                ("http://a.example:443", false),
            ],
        );
        check(
            &["https://a.example"],
            &[("https://a.example:443", true), ("http://a.example", false)],
        );
        assert_eq!(
            hosts(&["http://a.example"]),
            hosts(&["http://a.example:80"])
        );
    }

    #[test]
    fn explicit_ports() {
        check(
            &["http://127.0.0.1:8080"],
            &[
                ("http://127.0.0.1:8080", true),
                ("http://127.0.0.1:8080/path", true),
                ("http://127.0.0.1:8081", false),
                ("http://127.0.0.1", false),
                ("https://127.0.0.1:8080", false),
                ("http://localhost:8080", false),
                ("http://127.0.0.2:8080", false),
            ],
        );
        check(
            &["https://a.example:8443", "http://a.example:1"],
            &[
                ("https://a.example:8443", true),
                ("http://a.example:1", true),
                ("http://a.example:8443", false),
                ("https://a.example", false),
            ],
        );
    }

    #[test]
    fn wildcard_port() {
        check(
            &["http://localhost:*"],
            &[
                ("http://localhost", true),
                ("http://localhost:1", true),
                ("http://localhost:3000/x", true),
                ("http://localhost:65535", true),
                ("https://localhost:3000", false),
                ("http://localhost.example:3000", false),
            ],
        );
    }

    #[test]
    fn wildcard_scheme() {
        check(
            &["*://a.example:8443"],
            &[
                ("http://a.example:8443", true),
                ("https://a.example:8443", true),
                ("https://a.example", false),
            ],
        );
        // No port with scheme `*`: each scheme's own default port.
        check(
            &["*://a.example"],
            &[
                ("http://a.example", true),
                ("https://a.example", true),
                ("http://a.example:80", true),
                ("https://a.example:443", true),
                ("http://a.example:443", false),
                ("https://a.example:80", false),
                ("http://a.example:8080", false),
            ],
        );
    }

    #[test]
    fn subdomain_wildcard() {
        check(
            &["https://*.example.com"],
            &[
                ("https://a.example.com", true),
                ("https://a.b.example.com", true),
                ("https://x.y.z.example.com/path", true),
                ("https://a.example.com:443", true),
                ("https://example.com", false),
                ("https://badexample.com", false),
                ("https://a.example.com.evil.org", false),
                ("https://a.example.com:8443", false),
                ("http://a.example.com", false),
            ],
        );
        check(
            &["*://*.example.org:443"],
            &[
                ("http://x.example.org:443", true),
                ("https://x.example.org", true),
                ("https://example.org", false),
                ("http://x.example.org", false),
            ],
        );
        // An IP address is not a subdomain of anything.
        check(
            &["http://*.example.com"],
            &[("http://127.0.0.1", false), ("http://[::1]", false)],
        );
    }

    #[test]
    fn everything() {
        check(
            &["*://*:*"],
            &[
                ("http://a.example", true),
                ("https://a.example:1234/x?y", true),
                ("http://10.1.2.3:9", true),
                ("https://[2001:db8::1]:8443", true),
                ("http://localhost", true),
            ],
        );
        check(
            &["https://*"],
            &[
                ("https://anything.example", true),
                ("https://anything.example:8443", false),
                ("http://anything.example", false),
            ],
        );
    }

    #[test]
    fn ipv6() {
        check(
            &["http://[::1]:8080"],
            &[
                ("http://[::1]:8080", true),
                ("http://[0:0:0:0:0:0:0:1]:8080/x", true),
                ("http://[::1]", false),
                ("http://[::1]:8081", false),
                ("http://[::2]:8080", false),
                ("http://127.0.0.1:8080", false),
                ("http://localhost:8080", false),
            ],
        );
        check(
            &["http://[::1]", "https://[2001:DB8::1]/"],
            &[
                ("http://[::1]", true),
                ("http://[::1]:80", true),
                ("https://[2001:db8::1]", true),
                ("https://[2001:0db8:0:0::1]:443", true),
                ("https://[2001:db8::2]", false),
            ],
        );
    }

    #[test]
    fn ipv4() {
        check(
            &["http://10.0.0.1"],
            &[
                ("http://10.0.0.1", true),
                ("http://10.0.0.1:80", true),
                ("http://10.0.0.10", false),
                ("http://010.0.0.1", false),
                ("http://[::ffff:10.0.0.1]", false),
            ],
        );
    }

    #[test]
    fn case_insensitive() {
        check(
            &["HTTPS://API.Example.COM", "http://*.Example.ORG:8080"],
            &[
                ("https://api.example.com", true),
                ("https://API.EXAMPLE.COM/Path", true),
                ("http://x.example.org:8080", true),
                ("http://X.EXAMPLE.org:8080", true),
            ],
        );
        check(
            &["https://api.example.com"],
            &[("HTTPS://Api.Example.Com", true)],
        );
    }

    #[test]
    fn trailing_slash_and_dot() {
        check(
            &[
                "https://a.example/",
                "http://b.example:8080/",
                "http://[::1]:81/",
            ],
            &[
                ("https://a.example", true),
                ("http://b.example:8080", true),
                ("http://[::1]:81", true),
            ],
        );
        // `a.example.` is the fully qualified `a.example`.
        check(
            &["https://a.example.", "https://*.b.example"],
            &[
                ("https://a.example", true),
                ("https://a.example.", true),
                ("https://x.b.example.", true),
                ("https://b.example.", false),
            ],
        );
    }

    #[test]
    fn whitespace_around_entries_is_ignored() {
        check(&["  https://a.example \n"], &[("https://a.example", true)]);
    }

    #[test]
    fn none_and_empty() {
        let none = AllowedHosts::none();
        assert!(none.is_empty());
        assert_eq!(none, AllowedHosts::default());
        assert_eq!(AllowedHosts::parse::<&str>(&[]), Ok(AllowedHosts::none()));
        assert!(!none.allows(&uri("https://a.example")));
        assert!(!hosts(&["https://a.example"]).is_empty());
        let owned = vec![String::from("https://a.example")];
        assert!(AllowedHosts::parse(&owned).is_ok());
    }

    #[test]
    fn requests_that_no_entry_allows() {
        check(
            &["*://*:*"],
            &[
                // Relative: no scheme or authority.
                ("/path", false),
                ("a.example", false),
                // Not HTTP.
                ("ftp://a.example", false),
                ("ws://a.example", false),
                // User information.
                ("http://user:password@a.example", false),
                ("http://user@a.example", false),
                // Not a name or address.
                ("http://a_b!.example", false),
                ("http://127.1", false),
                ("http://0x7f000001", false),
                ("http://10.0.0.256", false),
                ("http://a..example", false),
                ("http://a.example:0", false),
                ("http://a.example:", false),
                ("http://a.example:65536", false),
            ],
        );
    }

    #[test]
    fn rejections() {
        use HostPatternError as E;
        assert_eq!(error(""), E::Empty);
        assert_eq!(error("   "), E::Empty);
        for entry in [
            "api.example.com",
            "api.example.com:443",
            "insecure:allow-all",
            "://a.example",
        ] {
            assert!(matches!(error(entry), E::MissingScheme { .. }), "{entry}");
        }
        for (entry, scheme) in [
            ("ftp://a.example", "ftp"),
            ("redis://a.example", "redis"),
            ("h1://a.example", "h1"),
        ] {
            assert_eq!(
                error(entry),
                E::UnsupportedScheme {
                    entry: entry.into(),
                    scheme: scheme.into()
                }
            );
        }
        for entry in ["https://user:pw@a.example", "https://user@a.example:443"] {
            assert!(matches!(error(entry), E::HasUserinfo { .. }), "{entry}");
        }
        for entry in [
            "https://a.example/v1",
            "https://a.example//",
            "http://a.example:80/x/",
            "https://*.a.example/x",
        ] {
            assert!(matches!(error(entry), E::HasPath { .. }), "{entry}");
        }
        for entry in [
            "https://a.example?x=1",
            "https://a.example/?x",
            "https://a.example:1/?",
        ] {
            assert!(matches!(error(entry), E::HasQuery { .. }), "{entry}");
        }
        for entry in ["https://a.example#top", "https://a.example/?x#y"] {
            assert!(matches!(error(entry), E::HasFragment { .. }), "{entry}");
        }
        for entry in ["https://", "https:///", "https://:8080", "*://:*"] {
            assert!(matches!(error(entry), E::MissingHost { .. }), "{entry}");
        }
        for entry in [
            "https://a.*.example",
            "https://*a.example",
            "https://*.*.example",
            "https://**",
            "https://a*",
        ] {
            assert!(matches!(error(entry), E::InvalidWildcard { .. }), "{entry}");
        }
        for entry in [
            "https://[::1",
            "https://[zz::1]",
            "https://[::1]x",
            "https://[::1]80",
            "https://[127.0.0.1]",
            "https://[fe80::1%25eth0]",
        ] {
            assert!(matches!(error(entry), E::InvalidIpv6 { .. }), "{entry}");
        }
        for entry in [
            "https://::1",
            "https://2001:db8::1:443",
            "https://a.example:80:81",
        ] {
            assert!(matches!(error(entry), E::UnbracketedIpv6 { .. }), "{entry}");
        }
        for entry in [
            "https://a example",
            "https://exämple.com",
            "https://a..example",
            "https://.a.example",
            "https://10.0.0.256",
            "https://127.1",
            "https://*.",
            "https://*.0.1",
            "https://a%2eexample",
            "https://a,b",
        ] {
            assert!(matches!(error(entry), E::InvalidHostName { .. }), "{entry}");
        }
        let long_label = format!("https://{}.example", "a".repeat(64));
        assert!(matches!(error(&long_label), E::InvalidHostName { .. }));
        let long_name = format!("https://{}example", "a.".repeat(127));
        assert!(matches!(error(&long_name), E::InvalidHostName { .. }));
        for entry in ["http://self", "https://self.alt", "http://SELF:3000"] {
            assert!(matches!(error(entry), E::SelfHost { .. }), "{entry}");
        }
        for entry in [
            "https://a.example:",
            "https://a.example:0",
            "https://a.example:65536",
            "https://a.example:+80",
            "https://a.example:http",
            "https://a.example:-1",
            "https://a.example:8 0",
            "https://[::1]:",
            "https://[::1]:x",
        ] {
            assert!(matches!(error(entry), E::InvalidPort { .. }), "{entry}");
        }
        assert_eq!(
            error("https://a.example:8000..9000"),
            E::PortRange {
                entry: "https://a.example:8000..9000".into(),
                port: "8000..9000".into()
            }
        );
    }

    #[test]
    fn errors_name_the_entry() {
        for entry in [
            "api.example.com",
            "ftp://a.example",
            "https://u@a.example",
            "https://a.example/p",
            "https://a.example?q",
            "https://a.example#f",
            "https://:1",
            "https://a.*.example",
            "https://[::1",
            "https://::1",
            "https://a b",
            "http://self",
            "https://a.example:0",
            "https://a.example:1..2",
        ] {
            let message = error(entry).to_string();
            assert!(
                message.contains(&format!("{entry:?}")),
                "{message} names {entry}"
            );
        }
        let message = error("https://a.example:99999").to_string();
        assert!(message.contains("\"99999\""), "{message}");
    }

    #[test]
    fn the_first_bad_entry_is_reported() {
        let error = AllowedHosts::parse(&["https://ok.example", "bad.example", "ftp://x"])
            .expect_err("bad.example has no scheme");
        assert_eq!(
            error,
            HostPatternError::MissingScheme {
                entry: "bad.example".into()
            }
        );
    }
}
