//! URL predicates. (stub: being written)
use std::time::Duration;
pub struct UrlAnswer {
    pub holds: bool,
    pub reason: String,
}
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub fn url_exists(url: &str, _timeout: Duration) -> UrlAnswer {
    UrlAnswer {
        holds: false,
        reason: format!("stub {url}"),
    }
}
pub fn url_contains(url: &str, _needle: &str, _timeout: Duration) -> UrlAnswer {
    UrlAnswer {
        holds: false,
        reason: format!("stub {url}"),
    }
}
