//! Docker references as containers/image's `docker/reference` package parses them
//! (`ParseNormalizedNamed`, `ParseNamed`, `Parse`), written out by hand from its regular
//! expressions: `[domain/]component(/component)*[:tag][@digest]`, where a domain is
//! `label(.label)*[:port]` (no IPv6 form in this copy), a path component is lowercase
//! alphanumeric runs joined by one `.`, one `_`, `__` or any number of `-`, a tag is
//! `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` and a digest must pass go-digest's `Parse`.
//! Normalization: no domain (the first component has no `.` or `:` and is not `localhost`) means
//! `docker.io`; `index.docker.io` becomes `docker.io`; a one-component `docker.io` path gets
//! `library/`.

use super::gotext::validate_digest;

/// A named reference (`reference.Named`), possibly with a tag and a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Why a reference does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("invalid reference format: repository name must be lowercase")]
    Uppercase,
    #[error("invalid reference format")]
    Format,
    #[error("repository name must not be more than 255 characters")]
    TooLong,
    #[error("invalid digest {0:?}: {1}")]
    Digest(String, &'static str),
    #[error("repository name must be canonical")]
    NotCanonical,
}

const NAME_TOTAL_LENGTH_MAX: usize = 255;

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `nameComponent`: `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`.
fn is_name_component(s: &[u8]) -> bool {
    let mut i = 0;
    let run = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && is_alnum_lower(s[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < s.len() {
        let sep_start = i;
        while i < s.len() && !is_alnum_lower(s[i]) {
            i += 1;
        }
        let sep = &s[sep_start..i];
        let ok = sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|&c| c == b'-');
        if !ok || !run(&mut i) {
            return false;
        }
    }
    true
}

/// `path`: one or more name components joined by `/`.
fn is_path(s: &[u8]) -> bool {
    s.split(|&c| c == b'/').all(is_name_component)
}

/// `domainComponent`: `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(s: &[u8]) -> bool {
    !s.is_empty()
        && s[0].is_ascii_alphanumeric()
        && s[s.len() - 1].is_ascii_alphanumeric()
        && s.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

/// `domain`: `domainComponent(\.domainComponent)*(:[0-9]+)?`.
pub(crate) fn is_domain(s: &[u8]) -> bool {
    let (host, port) = match s.iter().position(|&c| c == b':') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.iter().all(u8::is_ascii_digit) {
            return false;
        }
    }
    host.split(|&c| c == b'.').all(is_domain_component)
}

/// `tag`: `[\w][\w.-]{0,127}`.
fn is_tag(s: &[u8]) -> bool {
    let w = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    !s.is_empty() && s.len() <= 128 && w(&s[0]) && s.iter().all(|c| w(c) || *c == b'.' || *c == b'-')
}

/// `digestPat`: `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`.
fn is_digest_pattern(s: &[u8]) -> bool {
    let Some(colon) = s.iter().position(|&c| c == b':') else {
        return false;
    };
    let (alg, hex) = (&s[..colon], &s[colon + 1..]);
    let alg_ok = alg
        .split(|&c| matches!(c, b'-' | b'_' | b'+' | b'.'))
        .all(|part| !part.is_empty() && part[0].is_ascii_alphabetic() && part.iter().all(u8::is_ascii_alphanumeric));
    alg_ok && hex.len() >= 32 && hex.iter().all(u8::is_ascii_hexdigit)
}

/// Split a name into (domain, path) as `anchoredNameRegexp` does: the part before the first `/`
/// is the domain whenever it matches the domain pattern and the rest is a path.
fn split_name(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if let Some(i) = name.iter().position(|&c| c == b'/') {
        let (d, p) = (&name[..i], &name[i + 1..]);
        if is_domain(d) && is_path(p) {
            return Some((d, p));
        }
    }
    is_path(name).then_some((&name[..0], name))
}

/// `reference.Parse` for a string that must yield a name (every caller here prefixes a domain).
fn parse(s: &str) -> Result<Named, ReferenceError> {
    let b = s.as_bytes();
    // The digest follows the first '@' (no other part may contain '@').
    let (left, digest) = match b.iter().position(|&c| c == b'@') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    // A tag follows a ':' that comes after the last '/' (a ':' before it is a port).
    let last_slash = left.iter().rposition(|&c| c == b'/');
    let (name, tag) = match left.iter().rposition(|&c| c == b':') {
        Some(i) if last_slash.is_none_or(|s| i > s) => (&left[..i], Some(&left[i + 1..])),
        _ => (left, None),
    };
    let matched = split_name(name).is_some() && tag.is_none_or(is_tag) && digest.is_none_or(is_digest_pattern);
    if !matched {
        return Err(if s.is_empty() {
            ReferenceError::Format
        } else if s.to_ascii_lowercase() != s && parse(&s.to_ascii_lowercase()).is_ok() {
            ReferenceError::Uppercase
        } else {
            ReferenceError::Format
        });
    }
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::TooLong);
    }
    let (domain, path) = split_name(name).ok_or(ReferenceError::Format)?;
    let digest = match digest {
        Some(d) => {
            let d = String::from_utf8_lossy(d).into_owned();
            validate_digest(&d).map_err(|why| ReferenceError::Digest(d.clone(), why))?;
            Some(d)
        }
        None => None,
    };
    Ok(Named {
        domain: String::from_utf8_lossy(domain).into_owned(),
        path: String::from_utf8_lossy(path).into_owned(),
        tag: tag.map(|t| String::from_utf8_lossy(t).into_owned()),
        digest,
    })
}

/// `splitDockerDomain`.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((d, r)) if d.contains(['.', ':']) || d == "localhost" => (d.to_string(), r.to_string()),
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    (domain, remainder)
}

impl Named {
    /// `reference.ParseNormalizedNamed`.
    pub fn parse_normalized(s: &str) -> Result<Named, ReferenceError> {
        if s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ReferenceError::HexName(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = remainder.split_once(':').map_or(remainder.as_str(), |(r, _)| r);
        if remote_name.to_lowercase() != remote_name {
            return Err(ReferenceError::Uppercase);
        }
        parse(&format!("{domain}/{remainder}"))
    }

    /// `reference.ParseNamed`: `ParseNormalizedNamed`, and the string must already be normalized.
    pub fn parse_canonical(s: &str) -> Result<Named, ReferenceError> {
        let n = Named::parse_normalized(s)?;
        if n.to_string() != s {
            return Err(ReferenceError::NotCanonical);
        }
        Ok(n)
    }

    /// `Name()`: domain and path.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The registry host (and port).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `reference.IsNameOnly`.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }
}

impl std::fmt::Display for Named {
    /// `String()`: `name[:tag][@digest]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `matchRepoDigestOrExactReferenceValues`: a name-only signature never matches; a tagged
/// `intended` (also tag+digest) needs the identical string; a digest-only `intended` needs only
/// the same name.
pub(crate) fn match_repo_digest_or_exact(intended: &Named, signature: &Named) -> bool {
    if signature.is_name_only() {
        return false;
    }
    if intended.tag.is_some() {
        signature.to_string() == intended.to_string()
    } else if intended.digest.is_some() {
        signature.name() == intended.name()
    } else {
        false
    }
}

/// `validateIdentityRemappingPrefix`: a domain (`host[:port]`), or a name that starts with one.
pub(crate) fn valid_remap_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    if is_domain(b) {
        return true;
    }
    // NameRegexp (unanchored domain/path, allowing upper case in the domain) anchored, and a
    // domain followed by '/'.
    let Some(i) = b.iter().position(|&c| c == b'/') else {
        return false;
    };
    is_domain(&b[..i]) && split_name(b).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Named {
        Named::parse_normalized(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn normalizes_like_docker_reference() {
        assert_eq!(n("busybox").to_string(), "docker.io/library/busybox");
        assert_eq!(
            n("index.docker.io/busybox:1").to_string(),
            "docker.io/library/busybox:1"
        );
        assert_eq!(n("foo/bar").to_string(), "docker.io/foo/bar");
        assert_eq!(n("localhost/foo").name(), "localhost/foo");
        assert_eq!(n("localhost:5000/foo:tag").name(), "localhost:5000/foo");
        assert_eq!(n("localhost:5000/foo:tag").tag(), Some("tag"));
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = n(&format!("quay.io/openshift-release-dev/ocp-release:4.1@{d}"));
        assert_eq!(r.tag(), Some("4.1"));
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(n("Quay.io/a").name(), "Quay.io/a");
        // The first component has a '.', so it is taken for a domain, fails the domain pattern, and
        // the whole name is a path.
        assert_eq!(n("a_b.com/x").name(), "a_b.com/x");
    }

    #[test]
    fn refuses_like_docker_reference() {
        for bad in [
            "",
            "quay.io/OCP/x",
            "quay.io/a:b:c",
            &"a".repeat(64).replace('a', "b"),
            "quay.io/a@sha256:abc",
            &format!("quay.io/a@sha256:{}", "AB".repeat(32)),
            &format!("quay.io/a@md5:{}", "ab".repeat(16)),
            "quay.io/a:-tag",
            "quay.io/a..b",
            "quay.io/a___b",
            "quay.io/-a",
            "quay.io/a/",
            "quay.io//a",
            &format!("quay.io/{}", "a".repeat(250)),
            &format!("quay.io/a:{}", "t".repeat(129)),
            "quay.io/a b",
        ] {
            assert!(Named::parse_normalized(bad).is_err(), "{bad:?} parsed");
        }
        assert!(Named::parse_normalized(&"ab".repeat(32)).is_err());
        assert!(Named::parse_normalized("quay.io/a-----b_c__d.e").is_ok());
        assert!(Named::parse_normalized(&format!("quay.io/a:{}", "t".repeat(128))).is_ok());
    }

    #[test]
    fn repo_digest_or_exact() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let pull = n(&format!("quay.io/o/r@{d}"));
        assert!(match_repo_digest_or_exact(&pull, &n("quay.io/o/r:other")));
        assert!(match_repo_digest_or_exact(
            &pull,
            &n(&format!("quay.io/o/r@sha256:{}", "cd".repeat(32)))
        ));
        assert!(!match_repo_digest_or_exact(&pull, &n("quay.io/o/r")));
        assert!(!match_repo_digest_or_exact(&pull, &n("quay.io/o/x:t")));
        let tag = n("quay.io/o/r:t");
        assert!(match_repo_digest_or_exact(&tag, &n("quay.io/o/r:t")));
        assert!(!match_repo_digest_or_exact(&tag, &n("quay.io/o/r:u")));
        assert!(!match_repo_digest_or_exact(&n("quay.io/o/r"), &n("quay.io/o/r:t")));
    }

    #[test]
    fn remap_prefixes() {
        assert!(valid_remap_prefix("quay.io"));
        assert!(valid_remap_prefix("quay.io:443"));
        assert!(valid_remap_prefix("quay.io/openshift-release-dev"));
        assert!(!valid_remap_prefix("openshift-release-dev/x/"));
        assert!(!valid_remap_prefix("quay.io/UPPER"));
        assert!(!valid_remap_prefix("quay.io/x:tag"));
    }
}
