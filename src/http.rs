//! The URL predicates, `url-exists` and `url-contains`, over ureq.
//!
//! A predicate answers true or false; it never fails. Anything that stops the question being
//! answered (no route, refused connection, DNS, TLS, a timeout, a bad URL) is a false answer whose
//! reason says so, because a target that cannot be confirmed is not reached and its goal should
//! fire (or, after the recipe, report a broken promise naming the cause).

use std::io::{self, Read};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ureq::{Agent, Body, ResponseExt};

/// The answer of a URL predicate, with the reason shown to users (e.g. in --explain, or in
/// "broken promise" errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlAnswer {
    pub holds: bool,
    pub reason: String,
    /// No answer came from the server (refused, timed out, no such host, TLS failure): false,
    /// but a user should hear of it, since a network outage then looks like a missing URL.
    pub unreachable: bool,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// More than this many redirects is a false answer, as in browsers and curl's usual settings.
pub const MAX_REDIRECTS: u32 = 10;

/// `url-contains` reads at most this much of a body: a file server answering with an endless or
/// huge stream must not exhaust memory or time beyond the timeout.
pub const BODY_CAP: u64 = 64 * 1024 * 1024;

/// Whether `url` answers with a status below 400, after redirects.
///
/// Asks with HEAD; a server that refuses HEAD (405, 501) is asked again with GET, within the
/// same time budget.
pub fn url_exists(url: &str, timeout: Duration) -> UrlAnswer {
    if let Some(answer) = unsupported_scheme(url) {
        return answer;
    }
    let deadline = Instant::now() + timeout;
    let response = match agent()
        .head(url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
    {
        Ok(response) if matches!(response.status().as_u16(), 405 | 501) => agent()
            .get(url)
            .config()
            .timeout_global(Some(deadline.saturating_duration_since(Instant::now())))
            .build()
            .call(),
        other => other,
    };
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            UrlAnswer {
                holds: status < 400,
                reason: format!("HTTP {status} from {}", described(url, &response)),
                unreachable: false,
            }
        }
        Err(error) => unreachable(url, error, timeout),
    }
}

/// Whether `url` answers a GET with a status below 400 and a body that contains `needle`.
///
/// The body is searched as it arrives, so a match early in a large body stops reading there;
/// at most [`BODY_CAP`] bytes are read.
pub fn url_contains(url: &str, needle: &str, timeout: Duration) -> UrlAnswer {
    if let Some(answer) = unsupported_scheme(url) {
        return answer;
    }
    let mut response = match agent()
        .get(url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
    {
        Ok(response) => response,
        Err(error) => return unreachable(url, error, timeout),
    };
    let status = response.status().as_u16();
    let from = described(url, &response);
    if status >= 400 {
        return UrlAnswer {
            holds: false,
            reason: format!("HTTP {status} from {from}"),
            unreachable: false,
        };
    }
    match search(response.body_mut(), needle, BODY_CAP) {
        Ok(Search::Found) => UrlAnswer {
            holds: true,
            reason: format!("HTTP {status} from {from} and the body contains {needle:?}"),
            unreachable: false,
        },
        Ok(Search::NotFound) => UrlAnswer {
            holds: false,
            reason: format!("HTTP {status} from {from} but the body does not contain {needle:?}"),
            unreachable: false,
        },
        Ok(Search::CapReached) => UrlAnswer {
            holds: false,
            reason: format!(
                "HTTP {status} from {from} but the first {} MiB of the body do not contain \
                 {needle:?}",
                BODY_CAP / (1024 * 1024)
            ),
            unreachable: false,
        },
        // The body reader reports ureq's own errors (the timeout above all) wrapped in io::Error.
        Err(error) => unreachable(url, ureq::Error::from(error), timeout),
    }
}

/// One agent for the whole process, so that checks of many URLs on one host reuse connections.
/// Timeouts differ per predicate, so they are set on each request instead.
fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        Agent::config_builder()
            // A 404 is an answer (false), not an error.
            .http_status_as_error(false)
            .max_redirects(MAX_REDIRECTS)
            .save_redirect_history(true)
            .user_agent(concat!("goal/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    })
}

fn scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}

fn is_https(url: &str) -> bool {
    scheme(url).is_some_and(|s| s.eq_ignore_ascii_case("https"))
}

fn unsupported_scheme(url: &str) -> Option<UrlAnswer> {
    match scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => None,
        _ => Some(UrlAnswer {
            holds: false,
            reason: format!("cannot check {url:?}: only http:// and https:// URLs are supported"),
            unreachable: false,
        }),
    }
}

/// The URL as users wrote it, plus where redirects led, so a 404 after a redirect is not
/// mistaken for a 404 of the URL itself.
fn described(url: &str, response: &ureq::http::Response<Body>) -> String {
    // The history (request URI first, then each redirect) rather than a comparison of the final
    // URI with `url`, which ureq normalizes ("http://h" becomes "http://h/").
    match response.get_redirect_history() {
        Some([_, .., last]) => format!("{url} (redirected to {last})"),
        _ => url.to_string(),
    }
}

fn unreachable(url: &str, error: ureq::Error, timeout: Duration) -> UrlAnswer {
    let why = match error {
        ureq::Error::Timeout(_) => {
            return UrlAnswer {
                holds: false,
                reason: format!(
                    "timed out after {} waiting for {url}",
                    humantime::format_duration(timeout)
                ),
                unreachable: true,
            }
        }
        ureq::Error::TooManyRedirects => {
            return UrlAnswer {
                holds: false,
                reason: format!("more than {MAX_REDIRECTS} redirects from {url}"),
                unreachable: false,
            }
        }
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::Io(error) => match error.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            io::ErrorKind::ConnectionReset => "connection reset".to_string(),
            io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
            // rustls reports handshake and certificate failures as invalid data in an io::Error.
            io::ErrorKind::InvalidData if is_https(url) => format!("TLS error: {error}"),
            _ => error.to_string(),
        },
        ureq::Error::BadUri(detail) => format!("bad URL ({detail})"),
        ureq::Error::Tls(detail) => format!("TLS error: {detail}"),
        ureq::Error::Rustls(error) => format!("TLS error: {error}"),
        other => other.to_string(),
    };
    UrlAnswer {
        holds: false,
        reason: format!("could not reach {url}: {why}"),
        unreachable: true,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Search {
    Found,
    NotFound,
    CapReached,
}

fn search(body: &mut Body, needle: &str, cap: u64) -> io::Result<Search> {
    // `limit(cap + 1)` would turn the cap into an error; the cap is an answer, so count here.
    search_reader(body.with_config().reader(), needle, cap)
}

/// Searches a stream for `needle` chunk by chunk, keeping only the last `needle.len() - 1` bytes
/// of the previous chunks so that a match across a chunk boundary is found.
fn search_reader(mut reader: impl Read, needle: &str, cap: u64) -> io::Result<Search> {
    if needle.is_empty() {
        return Ok(Search::Found);
    }
    // A substring searcher that cannot fail, whatever the needle's size (a regex built from a
    // long needle exceeds regex's size limit).
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    const CHUNK: usize = 64 * 1024;
    let keep = needle.len() - 1;
    let mut window: Vec<u8> = Vec::with_capacity(CHUNK + keep);
    let mut chunk = vec![0; CHUNK];
    let mut read_so_far: u64 = 0;
    loop {
        if read_so_far >= cap {
            return Ok(Search::CapReached);
        }
        let want = chunk
            .len()
            .min(usize::try_from(cap - read_so_far).unwrap_or(usize::MAX));
        let n = match reader.read(&mut chunk[..want]) {
            Ok(0) => return Ok(Search::NotFound),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        read_so_far += n as u64;
        window.extend_from_slice(&chunk[..n]);
        if finder.find(&window).is_some() {
            return Ok(Search::Found);
        }
        let drop = window.len().saturating_sub(keep);
        window.drain(..drop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its data a few bytes at a time, so needles straddle reads.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn finds_a_needle_split_across_reads() {
        let body = b"aaaaaaaaaaneedleaaaa";
        for step in 1..body.len() {
            assert_eq!(
                search_reader(Trickle(body, step), "needle", u64::MAX).unwrap(),
                Search::Found,
                "read {step} bytes at a time"
            );
        }
    }

    #[test]
    fn reports_absence_and_the_cap() {
        let body = b"0123456789needle";
        assert_eq!(
            search_reader(Trickle(body, 3), "nope", u64::MAX).unwrap(),
            Search::NotFound
        );
        assert_eq!(
            search_reader(Trickle(body, 3), "needle", 10).unwrap(),
            Search::CapReached
        );
        assert_eq!(
            search_reader(Trickle(body, 3), "needle", 16).unwrap(),
            Search::Found
        );
    }

    /// A 3 MB needle once made a regex that exceeded regex's size limit, and panicked.
    #[test]
    fn a_needle_of_megabytes_is_searched() {
        let needle = "ab".repeat(1_500_000);
        let body = format!("x{needle}y");
        assert_eq!(
            search_reader(body.as_bytes(), &needle, u64::MAX).unwrap(),
            Search::Found
        );
        assert_eq!(
            search_reader(&body.as_bytes()[..body.len() - 2], &needle, u64::MAX).unwrap(),
            Search::NotFound
        );
    }

    #[test]
    fn regex_metacharacters_in_needles_are_literal() {
        assert_eq!(
            search_reader(&b"version 1.2.3 (stable)"[..], "1.2.3 (stable)", u64::MAX).unwrap(),
            Search::Found
        );
        assert_eq!(
            search_reader(&b"version 1x2x3"[..], "1.2.3", u64::MAX).unwrap(),
            Search::NotFound
        );
        assert_eq!(
            search_reader(
                Trickle("prix: 12 € (TTC)".as_bytes(), 1),
                "12 € (",
                u64::MAX
            )
            .unwrap(),
            Search::Found
        );
    }

    #[test]
    fn other_schemes_are_a_false_answer() {
        for url in ["ftp://example.org/x", "example.org", "file:///etc/passwd"] {
            let answer = url_exists(url, Duration::from_secs(1));
            assert!(!answer.holds);
            assert!(
                answer.reason.contains("only http:// and https://"),
                "{answer:?}"
            );
        }
    }
}
