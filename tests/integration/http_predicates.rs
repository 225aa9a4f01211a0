//! `url-exists` and `url-contains` against a real HTTP server on 127.0.0.1.

use crate::common;

use std::sync::Once;
use std::time::{Duration, Instant};

use common::http_server::{Reply, TestServer};
use goal::http::{url_contains, url_exists, UrlAnswer};

const TIMEOUT: Duration = Duration::from_secs(5);

/// ureq honours proxy variables; a proxy of the environment must not see (or break) requests to
/// the local test server. Every test calls this before its first request, so the variable is set
/// before any thread reads the environment.
fn bypass_proxies() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("NO_PROXY", "127.0.0.1,localhost"));
}

fn server<'a>(routes: impl IntoIterator<Item = (&'a str, Reply)>) -> TestServer {
    bypass_proxies();
    TestServer::start(routes)
}

#[track_caller]
fn assert_holds(answer: &UrlAnswer) {
    assert!(answer.holds, "expected true: {answer:?}");
}

/// The reasons name the test server's address, whose port changes from run to run, and what the
/// HTTP client says of a broken connection: the words that matter are looked for.
#[track_caller]
fn assert_fails_with(answer: &UrlAnswer, reason: &str) {
    assert!(!answer.holds, "expected false: {answer:?}");
    assert!(
        answer.reason.contains(reason),
        "reason {:?} lacks {reason:?}",
        answer.reason
    );
}

#[test]
fn a_200_exists_and_is_asked_with_head() {
    let server = server([("/ok", Reply::ok("hello"))]);
    let answer = url_exists(&server.url("/ok"), TIMEOUT);
    assert_holds(&answer);
    assert_eq!(
        answer.reason,
        format!("HTTP 200 from {}", server.url("/ok"))
    );
    assert_eq!(server.requests(), ["HEAD /ok"]);
}

#[test]
fn a_404_does_not_exist() {
    let server = server([]);
    let url = server.url("/missing");
    assert_eq!(
        url_exists(&url, TIMEOUT),
        UrlAnswer {
            holds: false,
            reason: format!("HTTP 404 from {url}"),
            unreachable: false,
        }
    );
}

#[test]
fn a_server_error_does_not_exist() {
    let server = server([("/broken", Reply::status(500))]);
    assert_fails_with(
        &url_exists(&server.url("/broken"), TIMEOUT),
        "HTTP 500 from",
    );
}

#[test]
fn redirect_chains_are_followed() {
    let server = server([
        ("/a", Reply::redirect("/b")),
        ("/b", Reply::redirect("/c")),
        ("/c", Reply::ok("here")),
    ]);
    let answer = url_exists(&server.url("/a"), TIMEOUT);
    assert_holds(&answer);
    assert_eq!(
        answer.reason,
        format!(
            "HTTP 200 from {} (redirected to {})",
            server.url("/a"),
            server.url("/c")
        )
    );
}

#[test]
fn a_redirect_to_a_404_does_not_exist() {
    let server = server([("/moved", Reply::redirect("/gone"))]);
    assert_fails_with(
        &url_exists(&server.url("/moved"), TIMEOUT),
        &format!("HTTP 404 from {}", server.url("/moved")),
    );
}

#[test]
fn a_redirect_loop_is_a_false_answer() {
    let server = server([("/loop", Reply::redirect("/loop"))]);
    assert_fails_with(
        &url_exists(&server.url("/loop"), TIMEOUT),
        "more than 10 redirects",
    );
}

#[test]
fn a_server_refusing_head_is_asked_with_get() {
    let server = server([("/file", Reply::ok("data").refuse_head())]);
    assert_holds(&url_exists(&server.url("/file"), TIMEOUT));
    assert_eq!(server.requests(), ["HEAD /file", "GET /file"]);
}

#[test]
fn a_missing_file_refusing_head_is_still_missing() {
    let server = server([("/gone", Reply::status(404).refuse_head())]);
    assert_fails_with(&url_exists(&server.url("/gone"), TIMEOUT), "HTTP 404");
}

#[test]
fn a_slow_server_times_out() {
    let server = server([("/slow", Reply::ok("late").delay(Duration::from_secs(3)))]);
    let timeout = Duration::from_millis(300);
    for answer in [
        {
            let start = Instant::now();
            let answer = url_exists(&server.url("/slow"), timeout);
            assert!(start.elapsed() < Duration::from_millis(2500));
            answer
        },
        {
            let start = Instant::now();
            let answer = url_contains(&server.url("/slow"), "late", timeout);
            assert!(start.elapsed() < Duration::from_millis(2500));
            answer
        },
    ] {
        assert_fails_with(&answer, "timed out after 300ms");
    }
}

#[test]
fn a_body_arriving_too_slowly_times_out() {
    // Headers arrive at once; the timeout covers the body too, so a trickling server cannot hold
    // a predicate for longer than its timeout.
    bypass_proxies();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0; 1024];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart");
        std::thread::sleep(Duration::from_secs(3));
    });
    let start = Instant::now();
    let answer = url_contains(&url, "needle", Duration::from_millis(300));
    assert!(start.elapsed() < Duration::from_millis(2500));
    assert_fails_with(&answer, "timed out after 300ms");
}

#[test]
fn a_refused_connection_is_a_false_answer() {
    bypass_proxies();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/x");
    assert_eq!(
        url_exists(&url, TIMEOUT),
        UrlAnswer {
            holds: false,
            reason: format!("could not reach {url}: connection refused"),
            unreachable: true,
        }
    );
    assert_fails_with(&url_contains(&url, "x", TIMEOUT), "connection refused");
}

#[test]
fn an_unknown_host_is_a_false_answer() {
    bypass_proxies();
    // `.invalid` never resolves (RFC 6761), with or without a network.
    let answer = url_exists("http://no-such-host.invalid/", TIMEOUT);
    assert!(!answer.holds);
    assert!(
        answer
            .reason
            .starts_with("could not reach http://no-such-host.invalid/: "),
        "{answer:?}"
    );
}

#[test]
fn body_contains_or_not() {
    let server = server([("/page", Reply::ok("<p>version 1.2.3 released</p>"))]);
    let url = server.url("/page");
    assert_eq!(
        url_contains(&url, "1.2.3 released", TIMEOUT),
        UrlAnswer {
            holds: true,
            reason: format!("HTTP 200 from {url} and the body contains \"1.2.3 released\""),
            unreachable: false,
        }
    );
    assert_eq!(
        url_contains(&url, "1.2.4", TIMEOUT),
        UrlAnswer {
            holds: false,
            reason: format!("HTTP 200 from {url} but the body does not contain \"1.2.4\""),
            unreachable: false,
        }
    );
    assert_eq!(server.requests(), ["GET /page", "GET /page"]);
}

#[test]
fn an_error_page_containing_the_text_does_not_count() {
    let server = server([("/err", Reply::status(503).body("1.2.3"))]);
    assert_fails_with(
        &url_contains(&server.url("/err"), "1.2.3", TIMEOUT),
        "HTTP 503 from",
    );
}

#[test]
fn contains_follows_redirects() {
    let server = server([
        ("/latest", Reply::redirect("/v2")),
        ("/v2", Reply::ok("release 2")),
    ]);
    assert_holds(&url_contains(&server.url("/latest"), "release 2", TIMEOUT));
}

#[test]
fn a_needle_at_the_end_of_a_large_body_is_found() {
    let mut body = vec![b'x'; 8 * 1024 * 1024];
    body.extend_from_slice(b"THE END");
    let server = server([("/big", Reply::ok(body))]);
    assert_holds(&url_contains(&server.url("/big"), "THE END", TIMEOUT));
    assert_fails_with(
        &url_contains(&server.url("/big"), "THE ENDS", TIMEOUT),
        "does not contain \"THE ENDS\"",
    );
}

/// A 3 MB `text=` made a regex beyond regex's size limit, and `goal` panicked.
#[test]
fn a_text_of_megabytes_is_searched() {
    let text = "ab".repeat(1_500_000);
    let server = server([("/huge", Reply::ok(format!("<p>{text}</p>")))]);
    assert_holds(&url_contains(&server.url("/huge"), &text, TIMEOUT));
    let longer = format!("{text}a");
    assert!(!url_contains(&server.url("/huge"), &longer, TIMEOUT).holds);
}

#[test]
fn a_tls_failure_is_a_false_answer() {
    // A server that answers a TLS handshake with plain HTTP exercises the TLS error path without
    // a network or certificates.
    bypass_proxies();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut hello = [0; 1024];
        let _ = stream.read(&mut hello);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let answer = url_exists(&url, TIMEOUT);
    assert_fails_with(&answer, &format!("could not reach {url}: TLS error: "));
}

#[test]
fn a_url_without_a_path_is_not_reported_as_redirected() {
    let server = server([("/", Reply::ok("home"))]);
    assert_eq!(
        url_exists(&server.base, TIMEOUT).reason,
        format!("HTTP 200 from {}", server.base)
    );
}
